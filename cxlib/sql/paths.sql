-- paths: what customers did right after (direction 'from') or right before (direction 'to') their
-- first occurrence of a touchpoint in the date range.
-- Parameters: $touchpoint (VARCHAR), $direction ('from' | 'to'), $steps (INTEGER: events kept),
--   $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $top (INTEGER).
-- Output: path (VARCHAR[] in time order, the anchor touchpoint itself excluded; [] = nothing
--   before/after it), customers, share (of customers who had the touchpoint), total_customers
WITH ev AS (
  SELECT customer_id, seq, touchpoint FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
anchor AS (SELECT customer_id, min(seq) AS s FROM ev WHERE touchpoint = $touchpoint GROUP BY customer_id),
around AS (
  SELECT a.customer_id, e.seq, e.touchpoint
  FROM anchor a JOIN ev e ON e.customer_id = a.customer_id
  WHERE ($direction = 'from' AND e.seq > a.s AND e.seq <= a.s + $steps)
     OR ($direction = 'to' AND e.seq < a.s AND e.seq >= a.s - $steps)
),
per_customer AS (
  SELECT a.customer_id,
         coalesce(list(r.touchpoint ORDER BY r.seq) FILTER (WHERE r.touchpoint IS NOT NULL), []) AS path
  FROM anchor a LEFT JOIN around r ON r.customer_id = a.customer_id
  GROUP BY a.customer_id
),
counted AS (SELECT path, count(*) AS customers FROM per_customer GROUP BY path)
SELECT path, customers, customers / sum(customers) OVER () AS share, sum(customers) OVER () AS total_customers
FROM counted
ORDER BY customers DESC, path
LIMIT $top
