-- friction: per touchpoint and channel, how often customers fail to take the EXPECTED next step
-- after it, against the same touchpoint on the store's other channels, with its ratings.
-- Expected next step:
--   with a goal ($goal not empty: the funnel's steps in order, each a list of touchpoints), an
--     occurrence of a step-k touchpoint (k < last) continues when the customer has an event of a
--     later step (k' > k) after it (later in events_ordered.seq) at most $gap_seconds later;
--     touchpoints of the last step (the goal itself) and touchpoints outside the goal are not judged.
--   without a goal (stage map): an occurrence continues when the customer's next event is at most
--     $gap_seconds later and is not of an earlier stage (stage order awareness, consideration,
--     purchase, service, loyalty; a next event without a stage continues); touchpoints of the last
--     stage (loyalty) are natural ends and not judged; a touchpoint without a stage continues with any
--     next event at most $gap_seconds later (the plain drop-off).
--   Exactly at the limit is a continuation. Only occurrences whose gap has fully passed by $horizon
--   are judged (the rest are censored).
-- The baseline each row is compared with (other channels of the touchpoint) is pooled in Python from
--   the published rows (cxlib/analysis/journey/friction_points.py), so a hidden row never enters it.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $gap_seconds (DOUBLE),
--   $horizon (TIMESTAMP), $goal (VARCHAR[][]; empty = use the stage map).
-- Output: touchpoint, channel, stage, expects ('later step' | 'same or later stage' | 'any event'),
--   occurrences (judged), customers, dropped_off, csat_n, csat (share of 4-5 among answers about this touchpoint and
--   channel), ces_n, ces (mean 1-7)
WITH goal_steps AS (
  SELECT k, unnest((CAST($goal AS VARCHAR[][]))[CAST(k AS INTEGER)]) AS touchpoint
  FROM (SELECT unnest(range(1, array_length(CAST($goal AS VARCHAR[][])) + 1)) AS k)
),
stage_order AS (
  SELECT * FROM (VALUES (1, 'awareness'), (2, 'consideration'), (3, 'purchase'), (4, 'service'), (5, 'loyalty'))
  AS s(stage_order, stage)
),
ev AS (  -- every event, with its rank: the goal step, or the stage's place in the stage order
  SELECT e.customer_id, e.seq, e.ts, e.touchpoint, e.channel, e.stage, e.next_ts, e.next_touchpoint,
         CASE WHEN array_length(CAST($goal AS VARCHAR[][])) > 0 THEN g.k ELSE so.stage_order END AS rnk
  FROM events_ordered e
  LEFT JOIN goal_steps g ON g.touchpoint = e.touchpoint
  LEFT JOIN stage_order so ON so.stage = e.stage
),
judged AS (  -- occurrences in the range that have an expected next step and are not censored
  SELECT *,
         CASE WHEN array_length(CAST($goal AS VARCHAR[][])) > 0 THEN 'later step'
              WHEN rnk IS NULL THEN 'any event' ELSE 'same or later stage' END AS expects
  FROM ev
  WHERE ts + to_seconds($gap_seconds) <= $horizon
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
    AND CASE WHEN array_length(CAST($goal AS VARCHAR[][])) > 0 THEN rnk IS NOT NULL AND rnk < array_length(CAST($goal AS VARCHAR[][]))
             ELSE rnk IS NULL OR rnk < 5 END
),
goal_hits AS (  -- goal mode: occurrences followed in time by an event of a later step
  SELECT DISTINCT j.customer_id, j.seq
  FROM judged j
  JOIN ev f ON f.customer_id = j.customer_id AND f.seq > j.seq AND f.rnk > j.rnk
   AND f.ts <= j.ts + to_seconds($gap_seconds)
  WHERE array_length(CAST($goal AS VARCHAR[][])) > 0
),
occ AS (
  SELECT j.customer_id, j.touchpoint, j.channel, j.stage, j.expects,
         CASE WHEN array_length(CAST($goal AS VARCHAR[][])) > 0 THEN h.seq IS NULL
              ELSE j.next_ts IS NULL OR j.next_ts > j.ts + to_seconds($gap_seconds)
                   OR (j.rnk IS NOT NULL AND coalesce(nso.stage_order, j.rnk) < j.rnk) END AS dropped_off
  FROM judged j
  LEFT JOIN goal_hits h ON h.customer_id = j.customer_id AND h.seq = j.seq
  LEFT JOIN touchpoint_stages nm ON array_length(CAST($goal AS VARCHAR[][])) = 0 AND nm.touchpoint = j.next_touchpoint
  LEFT JOIN stage_order nso ON nso.stage = nm.stage
),
agg AS (
  SELECT touchpoint, channel, any_value(stage) AS stage, any_value(expects) AS expects, count(*) AS occurrences,
         count(DISTINCT customer_id) AS customers, count(*) FILTER (WHERE dropped_off) AS dropped_off
  FROM occ GROUP BY touchpoint, channel
),
ratings AS (
  SELECT touchpoint, channel,
         count(*) FILTER (WHERE metric = 'csat') AS csat_n,
         avg(CASE WHEN score >= 4 THEN 1 ELSE 0 END) FILTER (WHERE metric = 'csat') AS csat,
         count(*) FILTER (WHERE metric = 'ces') AS ces_n,
         avg(score::DOUBLE) FILTER (WHERE metric = 'ces') AS ces
  FROM survey_responses
  WHERE touchpoint IS NOT NULL
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  GROUP BY touchpoint, channel
)
SELECT b.touchpoint, b.channel, b.stage, b.expects, b.occurrences, b.customers, b.dropped_off,
       coalesce(r.csat_n, 0) AS csat_n, r.csat, coalesce(r.ces_n, 0) AS ces_n, r.ces
FROM agg b LEFT JOIN ratings r ON r.touchpoint = b.touchpoint AND r.channel = b.channel
ORDER BY b.touchpoint, b.channel
