-- friction: per touchpoint and channel, how often customers drop off after it, with its ratings.
-- Dropped off: the customer's next event is missing or more than $gap_seconds later (exactly at
-- the limit is a continuation). Only occurrences whose gap has fully passed by $horizon are
-- judged (the rest are censored).
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $gap_seconds (DOUBLE),
--   $horizon (TIMESTAMP).
-- Output: touchpoint, channel, stage, occurrences (judged), customers, dropped_off, csat_n,
--   csat (share of 4-5 among answers about this touchpoint and channel), ces_n, ces (mean 1-7)
WITH occ AS (
  SELECT customer_id, touchpoint, channel, stage,
         next_ts IS NULL OR next_ts > ts + to_seconds($gap_seconds) AS dropped_off
  FROM events_ordered
  WHERE ts + to_seconds($gap_seconds) <= $horizon
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
agg AS (
  SELECT touchpoint, channel, any_value(stage) AS stage, count(*) AS occurrences,
         count(DISTINCT customer_id) AS customers, count(*) FILTER (WHERE dropped_off) AS dropped_off
  FROM occ GROUP BY touchpoint, channel
),
ratings AS (
  SELECT touchpoint, channel,
         count(*) FILTER (WHERE metric = 'csat') AS csat_n,
         avg(CASE WHEN score >= 4 THEN 1.0 ELSE 0.0 END) FILTER (WHERE metric = 'csat') AS csat,
         count(*) FILTER (WHERE metric = 'ces') AS ces_n,
         avg(score::DOUBLE) FILTER (WHERE metric = 'ces') AS ces
  FROM survey_responses
  WHERE touchpoint IS NOT NULL
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  GROUP BY touchpoint, channel
)
SELECT a.touchpoint, a.channel, a.stage, a.occurrences, a.customers, a.dropped_off,
       coalesce(r.csat_n, 0) AS csat_n, r.csat, coalesce(r.ces_n, 0) AS ces_n, r.ces
FROM agg a LEFT JOIN ratings r ON r.touchpoint = a.touchpoint AND r.channel = a.channel
ORDER BY a.touchpoint, a.channel
