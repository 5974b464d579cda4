-- transitions: directly-follows pairs of each customer's time-ordered events (events_ordered).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive; both
--   events of a pair must lie in the range), $level ('touchpoint' | 'stage': at stage level only
--   pairs where the stage changes count, i.e. the stage sequence with repeats collapsed),
--   $by_mode ('none' | 'column' | 'nps'), $horizon (TIMESTAMP: NPS answers up to it count).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column'); {first} and
--   {customers}, set together (cxlib/analysis/journey/flows.py): without a date range, {first} is the
--   stored flag e.first_pair / e.first_stage_pair (events_ordered: the customer's first pair of its
--   kind) and {customers} = count(*) FILTER (WHERE is_first); with a range (the first pair in range
--   differs), or when events_ordered has no flags (a filtered view, an earlier store), {first} is NULL
--   and {customers} = count(DISTINCT customer_id). Either way one pass over the pairs.
-- Output: segment, source, target, transitions, customers, median_seconds, source_customers (distinct
--   customers with a pair from source in the segment: the denominator of a transition's share)
WITH pairs AS (
  SELECT e.customer_id,
         CASE WHEN $level = 'stage' THEN e.stage ELSE e.touchpoint END AS source,
         CASE WHEN $level = 'stage' THEN coalesce(m.stage, 'unmapped') ELSE e.next_touchpoint END AS target,
         epoch(e.next_ts) - epoch(e.ts) AS seconds,
         {first} AS is_first
  FROM events_ordered e
  LEFT JOIN touchpoint_stages m ON $level = 'stage' AND m.touchpoint = e.next_touchpoint
  WHERE e.next_ts IS NOT NULL
    AND ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.next_ts < $end)
),
rel_nps AS (  -- latest relationship NPS answer (blank touchpoint); ties on ts -> response_id
  SELECT customer_id, arg_max(score, (ts, response_id)) AS score
  FROM survey_responses
  WHERE $by_mode = 'nps' AND metric = 'nps' AND touchpoint IS NULL AND ts <= $horizon
  GROUP BY customer_id
),
seg AS (
  SELECT c.customer_id,
         CASE $by_mode
           WHEN 'none' THEN 'all'
           WHEN 'nps' THEN CASE WHEN r.score IS NULL THEN 'no_response' WHEN r.score >= 9 THEN 'promoter'
                                WHEN r.score >= 7 THEN 'passive' ELSE 'detractor' END
           ELSE coalesce(CAST(c.{segment} AS VARCHAR), '(none)')
         END AS segment
  FROM customers c LEFT JOIN rel_nps r ON r.customer_id = c.customer_id
  WHERE $by_mode <> 'none'
),
labelled AS (
  SELECT CASE WHEN $by_mode = 'none' THEN 'all' ELSE coalesce(s.segment, '(none)') END AS segment,
         p.customer_id, p.source, p.target, p.seconds, p.is_first
  FROM pairs p
  LEFT JOIN seg s ON s.customer_id = p.customer_id
  WHERE $level = 'touchpoint' OR p.source <> p.target
),
counted AS (
  SELECT segment, source, target, count(*) AS transitions, {customers} AS customers,
         median(seconds) AS median_seconds
  FROM labelled
  GROUP BY ALL
),
leaving AS (  -- with the flags, a customer leaving source has a first pair from it: only those are read
  SELECT segment, source, count(DISTINCT customer_id) AS source_customers
  FROM labelled WHERE is_first IS NOT FALSE
  GROUP BY ALL
)
SELECT c.*, l.source_customers
FROM counted c JOIN leaving l USING (segment, source)
ORDER BY segment, transitions DESC, source, target
