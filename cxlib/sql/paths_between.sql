-- paths_between: for each customer, the path between their first $start_touchpoint in the date range and
-- the first $end_touchpoint after it (PostHog's paths with both a start point and an end point).
-- Parameters: $start_touchpoint, $end_touchpoint (VARCHAR, different), $steps (INTEGER: touchpoints of
--   the path shown; a longer path keeps its first ($steps + 1) // 2 and last $steps // 2 around '...'),
--   $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $top (INTEGER: paths kept per segment),
--   $by_mode ('none' | 'column' | 'nps').
-- Slots: {segments} a query of ours giving customer_id, segment (common.segment_rows).
-- Rule (PostHog, ee/clickhouse/queries/paths/paths.py get_target_clause / get_target_point_filter):
--   the customer's events in the range in events_ordered order, consecutive repeats collapsed
--   (PostHog's compact_path); the first occurrence of the start point; the first occurrence of the end
--   point after it; customers without an end after the start are counted as not reached. The path is
--   what lies strictly between the two (both excluded); [] = the end came right after the start.
-- Output: segment, reached (BOOLEAN), path (VARCHAR[]; NULL when not reached), customers,
--   started (the segment's customers with the start point), reached_customers (of them, reached the end)
WITH seg AS ({segments}),
ev AS (
  SELECT customer_id, seq, touchpoint FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
first_start AS (
  SELECT customer_id, min(seq) AS s FROM ev WHERE touchpoint = $start_touchpoint GROUP BY customer_id
),
first_end AS (  -- the first end point after the first start point
  SELECT f.customer_id, f.s, min(e.seq) AS e
  FROM first_start f JOIN ev e ON e.customer_id = f.customer_id AND e.seq > f.s AND e.touchpoint = $end_touchpoint
  GROUP BY f.customer_id, f.s
),
slice AS (  -- the events from the start point to the end point, both included
  SELECT v.customer_id, v.seq, v.touchpoint,
         lag(v.touchpoint) OVER (PARTITION BY v.customer_id ORDER BY v.seq) AS prev
  FROM first_end f JOIN ev v ON v.customer_id = f.customer_id AND v.seq BETWEEN f.s AND f.e
),
compact AS (  -- consecutive repeats collapsed (the end point differs from the start point, so both stay)
  SELECT customer_id, seq, touchpoint FROM slice WHERE prev IS NULL OR touchpoint <> prev
),
mid AS (  -- what lies strictly between the start and end points: the i-th of n touchpoints
  SELECT c.customer_id, c.touchpoint, row_number() OVER (PARTITION BY c.customer_id ORDER BY c.seq) AS i,
         count(*) OVER (PARTITION BY c.customer_id) AS n
  FROM compact c JOIN first_end f ON f.customer_id = c.customer_id
  WHERE c.seq > f.s AND c.seq < f.e
),
shown AS (  -- a longer path keeps its first ($steps + 1) // 2 and last $steps // 2 around '...' (at position pos)
  SELECT customer_id, CAST(i AS DOUBLE) AS pos, touchpoint FROM mid
  WHERE n <= $steps OR i <= ($steps + 1) // 2 OR i > n - $steps // 2
  UNION ALL
  SELECT DISTINCT customer_id, ($steps + 1) // 2 + 0.5, '...' FROM mid WHERE n > $steps
),
per_customer AS (  -- the path as a list in position order (a list of structs sorted: the same on Spark)
  SELECT f.customer_id, r.customer_id IS NOT NULL AS reached,
         CASE WHEN r.customer_id IS NULL THEN NULL
              ELSE coalesce(list_transform(list_sort(list(struct_pack(pos := w.pos, touchpoint := w.touchpoint))
                                                     FILTER (WHERE w.touchpoint IS NOT NULL)), lambda x: x.touchpoint), [])
         END AS path
  FROM first_start f
  LEFT JOIN first_end r ON r.customer_id = f.customer_id
  LEFT JOIN shown w ON w.customer_id = f.customer_id
  GROUP BY f.customer_id, r.customer_id
),
counted AS (
  SELECT coalesce(g.segment, CASE $by_mode WHEN 'none' THEN 'all' WHEN 'nps' THEN 'no_response'
                                           ELSE '(none)' END) AS segment,
         p.reached, p.path, count(*) AS customers
  FROM per_customer p LEFT JOIN seg g ON g.customer_id = p.customer_id
  GROUP BY ALL
)
SELECT segment, reached, path, customers,
       sum(customers) OVER (PARTITION BY segment) AS started,
       sum(CASE WHEN reached THEN customers ELSE 0 END) OVER (PARTITION BY segment) AS reached_customers
FROM counted
QUALIFY NOT reached OR row_number() OVER (PARTITION BY segment, reached ORDER BY customers DESC, path) <= $top
ORDER BY segment, reached DESC, customers DESC, path
