-- segment_summary: per segment of cx_segment_members, the counts and moments every segment
--   profile needs: customers, revenue per customer (customers without orders count as 0),
--   NPS / CSAT / CES answer counts (every answer of the metric, as cxlib.analysis.voc counts them).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive):
--   the window for orders and survey answers.
-- Output: segment, customers, revenue, revenue_mean, revenue_sd, nps_n, promoters, passives,
--   detractors, csat_n, satisfied, ces_n, ces_mean, ces_sd, ces_easy
WITH rev AS (
  SELECT customer_id, sum(amount) AS revenue
  FROM orders
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  GROUP BY customer_id
),
cust AS (
  SELECT m.segment,
         count(*) AS customers,
         sum(coalesce(rev.revenue, 0)) AS revenue,
         avg(coalesce(rev.revenue, 0)) AS revenue_mean,
         stddev_samp(coalesce(rev.revenue, 0)) AS revenue_sd
  FROM cx_segment_members m LEFT JOIN rev ON rev.customer_id = m.customer_id
  GROUP BY m.segment
),
sv AS (
  SELECT m.segment,
         count(*) FILTER (WHERE r.metric = 'nps') AS nps_n,
         count(*) FILTER (WHERE r.metric = 'nps' AND r.score >= 9) AS promoters,
         count(*) FILTER (WHERE r.metric = 'nps' AND r.score BETWEEN 7 AND 8) AS passives,
         count(*) FILTER (WHERE r.metric = 'nps' AND r.score <= 6) AS detractors,
         count(*) FILTER (WHERE r.metric = 'csat') AS csat_n,
         count(*) FILTER (WHERE r.metric = 'csat' AND r.score >= 4) AS satisfied,
         count(*) FILTER (WHERE r.metric = 'ces') AS ces_n,
         avg(r.score) FILTER (WHERE r.metric = 'ces') AS ces_mean,
         stddev_samp(r.score) FILTER (WHERE r.metric = 'ces') AS ces_sd,
         count(*) FILTER (WHERE r.metric = 'ces' AND r.score >= 5) AS ces_easy
  FROM survey_responses r JOIN cx_segment_members m ON m.customer_id = r.customer_id
  WHERE r.score IS NOT NULL
    AND ($start IS NULL OR r.ts >= $start) AND ($end IS NULL OR r.ts < $end)
  GROUP BY m.segment
)
SELECT cust.segment, cust.customers, cust.revenue, cust.revenue_mean, cust.revenue_sd,
       coalesce(sv.nps_n, 0) AS nps_n, coalesce(sv.promoters, 0) AS promoters,
       coalesce(sv.passives, 0) AS passives, coalesce(sv.detractors, 0) AS detractors,
       coalesce(sv.csat_n, 0) AS csat_n, coalesce(sv.satisfied, 0) AS satisfied,
       coalesce(sv.ces_n, 0) AS ces_n, sv.ces_mean, sv.ces_sd, coalesce(sv.ces_easy, 0) AS ces_easy
FROM cust LEFT JOIN sv ON sv.segment = cust.segment
ORDER BY cust.segment
