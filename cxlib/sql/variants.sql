-- variants: the most common whole journeys (sequence of touchpoints or stages per customer).
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $level ('touchpoint' |
--   'stage': at stage level consecutive repeats are collapsed), $max_steps (INTEGER or NULL: keep
--   only the first N steps of each journey), $top (INTEGER: number of variants returned per segment),
--   $by_mode ('none' | 'column' | 'nps'), $horizon (TIMESTAMP: NPS answers up to it count).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column').
-- Output: segment, variant (VARCHAR[]), customers, share (of the segment's customers with an event
--   in the range), total_customers (of the segment)
WITH rel_nps AS (  -- latest relationship NPS answer (blank touchpoint); ties on ts -> response_id
  SELECT customer_id, arg_max(score, (ts, response_id)) AS score
  FROM survey_responses
  WHERE $by_mode = 'nps' AND metric = 'nps' AND touchpoint IS NULL AND ts <= $horizon
  GROUP BY customer_id
),
seg AS (  -- each customer's segment ('all' without a breakdown)
  SELECT c.customer_id,
         CASE $by_mode
           WHEN 'none' THEN 'all'
           WHEN 'nps' THEN CASE WHEN r.score IS NULL THEN 'no_response' WHEN r.score >= 9 THEN 'promoter'
                                WHEN r.score >= 7 THEN 'passive' ELSE 'detractor' END
           ELSE coalesce(CAST(c.{segment} AS VARCHAR), '(none)')
         END AS segment
  FROM customers c LEFT JOIN rel_nps r ON r.customer_id = c.customer_id
),
ev AS (
  SELECT customer_id, seq, CASE WHEN $level = 'stage' THEN stage ELSE touchpoint END AS step
  FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
kept AS (
  SELECT customer_id, seq, step
  FROM (SELECT *, lag(step) OVER (PARTITION BY customer_id ORDER BY seq) AS prev_step FROM ev)
  WHERE $level = 'touchpoint' OR prev_step IS NULL OR prev_step <> step
),
numbered AS (
  SELECT customer_id, seq, step, row_number() OVER (PARTITION BY customer_id ORDER BY seq) AS k FROM kept
),
per_customer AS (
  SELECT customer_id, list(step ORDER BY seq) AS variant
  FROM numbered WHERE $max_steps IS NULL OR k <= $max_steps
  GROUP BY customer_id
),
counted AS (
  SELECT CASE WHEN $by_mode = 'none' THEN 'all' ELSE coalesce(s.segment, '(none)') END AS segment, p.variant, count(*) AS customers
  FROM per_customer p LEFT JOIN seg s ON s.customer_id = p.customer_id GROUP BY ALL
)
SELECT segment, variant, customers,
       customers / sum(customers) OVER (PARTITION BY segment) AS share,
       sum(customers) OVER (PARTITION BY segment) AS total_customers
FROM counted
QUALIFY row_number() OVER (PARTITION BY segment ORDER BY customers DESC, variant) <= $top
ORDER BY segment, customers DESC, variant
