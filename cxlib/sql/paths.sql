-- paths: what customers did right after (direction 'from') or right before (direction 'to') their
-- first occurrence of a touchpoint in the date range.
-- Parameters: $touchpoint (VARCHAR), $direction ('from' | 'to'), $steps (INTEGER: events kept),
--   $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $top (INTEGER, per segment),
--   $by_mode ('none' | 'column' | 'nps'), $horizon (TIMESTAMP: NPS answers up to it count).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column').
-- Output: segment, path (VARCHAR[] in time order, the anchor touchpoint itself excluded; [] = nothing
--   before/after it), customers, share (of the segment's customers who had the touchpoint), total_customers
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
         coalesce(list_transform(list_sort(list(struct_pack(seq := r.seq, touchpoint := r.touchpoint))
                   FILTER (WHERE r.touchpoint IS NOT NULL)), lambda x: x.touchpoint), []) AS path
  FROM anchor a LEFT JOIN around r ON r.customer_id = a.customer_id
  GROUP BY a.customer_id
),
counted AS (
  SELECT CASE WHEN $by_mode = 'none' THEN 'all' ELSE coalesce(s.segment, '(none)') END AS segment, p.path, count(*) AS customers
  FROM per_customer p LEFT JOIN seg s ON s.customer_id = p.customer_id GROUP BY ALL
)
SELECT segment, path, customers, customers / sum(customers) OVER (PARTITION BY segment) AS share,
       sum(customers) OVER (PARTITION BY segment) AS total_customers
FROM counted
QUALIFY row_number() OVER (PARTITION BY segment ORDER BY customers DESC, path) <= $top
ORDER BY segment, customers DESC, path
