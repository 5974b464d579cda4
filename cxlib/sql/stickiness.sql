-- stickiness: how many customers were active on exactly N distinct days of a window (PostHog's stickiness).
-- Parameters: $first_day (DATE: the window's first UTC day), $as_of (TIMESTAMP: the window ends there),
--   $days (INTEGER: days in the window), $touchpoint (VARCHAR, or NULL for every event and order).
-- A day is the UTC date of ts. Activity: events (only those at $touchpoint when it is given) and
--   orders (only when $touchpoint is NULL), at or after $first_day and at or before $as_of.
-- Output: active_days (1..$days, every N, 0 customers included), customers
WITH act AS (
  SELECT customer_id, CAST(ts AS DATE) AS d FROM events
  WHERE ts >= $first_day AND ts <= $as_of AND ($touchpoint IS NULL OR touchpoint = $touchpoint)
  UNION ALL
  SELECT customer_id, CAST(ts AS DATE) AS d FROM orders
  WHERE $touchpoint IS NULL AND ts >= $first_day AND ts <= $as_of
),
customer_days AS (SELECT customer_id, d FROM act GROUP BY customer_id, d),
per_customer AS (SELECT customer_id, count(*) AS active_days FROM customer_days GROUP BY customer_id),
counts AS (SELECT active_days, count(*) AS customers FROM per_customer GROUP BY active_days)
SELECT CAST(t.n AS INTEGER) AS active_days, coalesce(c.customers, 0) AS customers
FROM (SELECT unnest(range(1, $days + 1)) AS n) AS t LEFT JOIN counts c ON c.active_days = t.n
ORDER BY 1
