-- stage_map: the journey map by stage: reach, time between stages and ratings per stage.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive),
--   $by_mode ('none' | 'column' | 'nps'), $horizon (TIMESTAMP: NPS answers up to it count).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column').
-- Output: segment, stage_order, stage, customers (reached the stage), share (of customers with any event),
--   total_customers (customers with any event: the share's denominator),
--   gap_customers (reached the previous stage and then this one), median_seconds, p90_seconds
--   (time from first reaching the previous stage to first reaching this one; p90 interpolated
--   linearly), csat_n, csat (share of 4-5), ces_n, ces (mean 1-7, higher = easier): survey answers
--   whose touchpoint maps to the stage; all per segment (survey answers by the answering customer's
--   segment).
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
  SELECT e.customer_id, CASE WHEN $by_mode = 'none' THEN 'all' ELSE coalesce(s.segment, '(none)') END AS segment, e.stage, e.ts FROM events_ordered e
  LEFT JOIN seg s ON s.customer_id = e.customer_id
  WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
),
stages AS (
  SELECT * FROM (VALUES (1, 'awareness'), (2, 'consideration'), (3, 'purchase'), (4, 'service'), (5, 'loyalty'))
  AS s(stage_order, stage)
),
firsts AS (SELECT segment, customer_id, stage, min(ts) AS first_at FROM ev GROUP BY segment, customer_id, stage),
total AS (SELECT segment, count(DISTINCT customer_id) AS n FROM ev GROUP BY segment),
reach AS (SELECT segment, stage, count(*) AS customers FROM firsts GROUP BY segment, stage),
gaps AS (
  SELECT cur.segment, s.stage, epoch(cur.first_at) - epoch(prev.first_at) AS seconds
  FROM stages s
  JOIN stages p ON p.stage_order = s.stage_order - 1
  JOIN firsts cur ON cur.stage = s.stage
  JOIN firsts prev ON prev.stage = p.stage AND prev.customer_id = cur.customer_id
  WHERE cur.first_at >= prev.first_at
),
gap_stats AS (
  SELECT segment, stage, count(*) AS gap_customers, median(seconds) AS median_seconds,
         quantile_cont(seconds, 0.9) AS p90_seconds
  FROM gaps GROUP BY segment, stage
),
ratings AS (
  SELECT CASE WHEN $by_mode = 'none' THEN 'all' ELSE coalesce(sg.segment, '(none)') END AS segment, m.stage,
         count(*) FILTER (WHERE r.metric = 'csat') AS csat_n,
         avg(CASE WHEN r.score >= 4 THEN 1 ELSE 0 END) FILTER (WHERE r.metric = 'csat') AS csat,
         count(*) FILTER (WHERE r.metric = 'ces') AS ces_n,
         avg(r.score::DOUBLE) FILTER (WHERE r.metric = 'ces') AS ces
  FROM survey_responses r JOIN touchpoint_stages m ON m.touchpoint = r.touchpoint
  LEFT JOIN seg sg ON sg.customer_id = r.customer_id
  WHERE ($start IS NULL OR r.ts >= $start) AND ($end IS NULL OR r.ts < $end)
  GROUP BY ALL
),
segments AS (  -- without a breakdown the single segment 'all' (also when there are no events)
  SELECT segment FROM total UNION SELECT 'all' WHERE $by_mode = 'none'
)
SELECT sg.segment, s.stage_order, s.stage,
       coalesce(reach.customers, 0) AS customers,
       coalesce(reach.customers, 0) / nullif(coalesce(total.n, 0), 0) AS share,
       coalesce(total.n, 0) AS total_customers,
       coalesce(g.gap_customers, 0) AS gap_customers, g.median_seconds, g.p90_seconds,
       coalesce(r.csat_n, 0) AS csat_n, r.csat, coalesce(r.ces_n, 0) AS ces_n, r.ces
FROM segments sg CROSS JOIN stages s
LEFT JOIN total ON total.segment = sg.segment
LEFT JOIN reach ON reach.segment = sg.segment AND reach.stage = s.stage
LEFT JOIN gap_stats g ON g.segment = sg.segment AND g.stage = s.stage
LEFT JOIN ratings r ON r.segment = sg.segment AND r.stage = s.stage
ORDER BY sg.segment, s.stage_order
