-- stage_map: the journey map by stage: reach, time between stages and ratings per stage.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive).
-- Output: stage_order, stage, customers (reached the stage), share (of customers with any event),
--   gap_customers (reached the previous stage and then this one), median_seconds, p90_seconds
--   (time from first reaching the previous stage to first reaching this one; p90 interpolated
--   linearly), csat_n, csat (share of 4-5), ces_n, ces (mean 1-7, higher = easier): survey answers
--   whose touchpoint maps to the stage.
WITH ev AS (
  SELECT customer_id, stage, ts FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
stages AS (
  SELECT * FROM (VALUES (1, 'awareness'), (2, 'consideration'), (3, 'purchase'), (4, 'service'), (5, 'loyalty'))
  AS s(stage_order, stage)
),
firsts AS (SELECT customer_id, stage, min(ts) AS first_at FROM ev GROUP BY customer_id, stage),
total AS (SELECT count(DISTINCT customer_id) AS n FROM ev),
reach AS (SELECT stage, count(*) AS customers FROM firsts GROUP BY stage),
gaps AS (
  SELECT s.stage, epoch(cur.first_at) - epoch(prev.first_at) AS seconds
  FROM stages s
  JOIN stages p ON p.stage_order = s.stage_order - 1
  JOIN firsts cur ON cur.stage = s.stage
  JOIN firsts prev ON prev.stage = p.stage AND prev.customer_id = cur.customer_id
  WHERE cur.first_at >= prev.first_at
),
gap_stats AS (
  SELECT stage, count(*) AS gap_customers, median(seconds) AS median_seconds,
         quantile_cont(seconds, 0.9) AS p90_seconds
  FROM gaps GROUP BY stage
),
ratings AS (
  SELECT m.stage,
         count(*) FILTER (WHERE r.metric = 'csat') AS csat_n,
         avg(CASE WHEN r.score >= 4 THEN 1.0 ELSE 0.0 END) FILTER (WHERE r.metric = 'csat') AS csat,
         count(*) FILTER (WHERE r.metric = 'ces') AS ces_n,
         avg(r.score::DOUBLE) FILTER (WHERE r.metric = 'ces') AS ces
  FROM survey_responses r JOIN touchpoint_stages m ON m.touchpoint = r.touchpoint
  WHERE ($start IS NULL OR r.ts >= $start) AND ($end IS NULL OR r.ts < $end)
  GROUP BY m.stage
)
SELECT s.stage_order, s.stage,
       coalesce(reach.customers, 0) AS customers,
       coalesce(reach.customers, 0) / nullif(total.n, 0) AS share,
       coalesce(g.gap_customers, 0) AS gap_customers, g.median_seconds, g.p90_seconds,
       coalesce(r.csat_n, 0) AS csat_n, r.csat, coalesce(r.ces_n, 0) AS ces_n, r.ces
FROM stages s CROSS JOIN total
LEFT JOIN reach ON reach.stage = s.stage
LEFT JOIN gap_stats g ON g.stage = s.stage
LEFT JOIN ratings r ON r.stage = s.stage
ORDER BY s.stage_order
