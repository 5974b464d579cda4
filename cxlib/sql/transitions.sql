-- transitions: directly-follows pairs of each customer's time-ordered events (events_ordered).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive; both
--   events of a pair must lie in the range), $level ('touchpoint' | 'stage': at stage level only
--   pairs where the stage changes count, i.e. the stage sequence with repeats collapsed),
--   $by_mode ('none' | 'column' | 'nps'), $horizon (TIMESTAMP: NPS answers up to it count).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column'); {first},
--   {first_source}, {customers} and {leaving}, set together (cxlib/analysis/journey/flows.py): without a
--   date range, {first} and {first_source} are the stored flags e.first_pair / e.first_stage_pair and
--   e.first_source / e.first_stage_source (events_ordered: the customer's first pair of its kind, its
--   first pair from the source), {customers} = count(*) FILTER (WHERE is_first) and {leaving} = FALSE:
--   customers per pair and customers leaving a source are filtered counts in one pass over the pairs
--   (a customer leaving a source has exactly one first-source row, under one target, so the source's
--   count is the sum over its targets). With a range (the first pair in range differs), or when
--   events_ordered has no flags (a filtered view of an earlier store, an earlier store), {first} and
--   {first_source} are NULL, {customers} = count(DISTINCT customer_id) and {leaving} = TRUE: customers
--   leaving a source are a DISTINCT count in a second pass (the `leaving` CTE, empty otherwise).
-- Output: segment, source, target, transitions, customers, median_seconds, source_customers (distinct
--   customers with a pair from source in the segment: the denominator of a transition's share)
WITH pairs AS (
  SELECT e.customer_id,
         CASE WHEN $level = 'stage' THEN e.stage ELSE e.touchpoint END AS source,
         CASE WHEN $level = 'stage' THEN coalesce(m.stage, 'unmapped') ELSE e.next_touchpoint END AS target,
         epoch(e.next_ts) - epoch(e.ts) AS seconds,
         {first} AS is_first, {first_source} AS is_first_source
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
labelled AS (  -- without a breakdown no join (and no customer_id read when the flags count customers)
  SELECT 'all' AS segment, p.customer_id, p.source, p.target, p.seconds, p.is_first, p.is_first_source
  FROM pairs p
  WHERE $by_mode = 'none' AND ($level = 'touchpoint' OR p.source <> p.target)
  UNION ALL
  SELECT coalesce(s.segment, '(none)') AS segment,
         p.customer_id, p.source, p.target, p.seconds, p.is_first, p.is_first_source
  FROM pairs p
  LEFT JOIN seg s ON s.customer_id = p.customer_id
  WHERE $by_mode <> 'none' AND ($level = 'touchpoint' OR p.source <> p.target)
),
counted AS (
  SELECT segment, source, target, count(*) AS transitions, {customers} AS customers,
         count(*) FILTER (WHERE is_first_source) AS first_sources, median(seconds) AS median_seconds
  FROM labelled
  GROUP BY ALL
),
leaving AS (  -- only without the flags ({leaving} = TRUE)
  SELECT segment, source, count(DISTINCT customer_id) AS source_customers
  FROM labelled WHERE {leaving}
  GROUP BY ALL
)
SELECT segment, source, target, transitions, customers, median_seconds,
       CAST(coalesce(l.source_customers, sum(first_sources) OVER (PARTITION BY segment, source)) AS BIGINT)
         AS source_customers
FROM counted c LEFT JOIN leaving l USING (segment, source)
ORDER BY segment, transitions DESC, source, target
