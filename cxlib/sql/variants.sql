-- variants: the most common whole journeys (sequence of touchpoints or stages per customer).
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $level ('touchpoint' |
--   'stage': at stage level consecutive repeats are collapsed), $max_steps (INTEGER or NULL: keep
--   only the first N steps of each journey), $top (INTEGER: number of variants returned).
-- Output: variant (VARCHAR[]), customers, share (of all customers with an event in the range),
--   total_customers
WITH ev AS (
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
counted AS (SELECT variant, count(*) AS customers FROM per_customer GROUP BY variant)
SELECT variant, customers,
       customers / sum(customers) OVER () AS share,
       sum(customers) OVER () AS total_customers
FROM counted
ORDER BY customers DESC, variant
LIMIT $top
