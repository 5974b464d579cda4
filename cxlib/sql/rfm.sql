-- rfm: (re)builds the connection's temp table cx_rfm: one row per customer signed up by $as_of,
--   with recency / frequency / monetary values, quintile scores 1-5 and the named RFM segment.
-- Parameters: $as_of (TIMESTAMP): only orders at or before it count; recency is measured to it.
-- Output: Count (rows written); the temp table cx_rfm(customer_id, last_order_at, recency_days,
--   frequency, monetary, r_score, f_score, m_score, rfm_cell, rfm_segment).
-- Scores: among customers with at least one order, score = 1 + floor(5 * (rank - 1) / n), rank =
--   RANK() (1-based, tied values share the lowest rank) over the value ordered from worst to best
--   (recency: most days since the last order first, so the most recent get 5; frequency and
--   monetary: smallest first). Equal-frequency quintiles of the ranking in which tied customers
--   share the score of the first of them. Customers with no orders get NULL scores and the
--   segment 'no purchase'. Named segments: the R/F map documented in cxlib.analysis.segments.rfm_scores.
CREATE OR REPLACE TEMP TABLE cx_rfm AS
WITH base AS (
  SELECT c.customer_id,
         max(o.ts) AS last_order_at,
         count(o.order_id) AS frequency,
         coalesce(sum(o.amount), 0) AS monetary
  FROM customers c
  LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.ts <= $as_of
  WHERE c.signup_at <= $as_of
  GROUP BY c.customer_id
),
buyers AS (
  SELECT *, date_diff('day', CAST(last_order_at AS DATE), CAST($as_of AS DATE)) AS recency_days
  FROM base WHERE frequency > 0
),
scored AS (
  SELECT customer_id, last_order_at, recency_days, frequency, monetary,
         CAST(1 + floor(5.0 * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ()) AS INTEGER) AS r_score,
         CAST(1 + floor(5.0 * (rank() OVER (ORDER BY frequency ASC) - 1) / count(*) OVER ()) AS INTEGER) AS f_score,
         CAST(1 + floor(5.0 * (rank() OVER (ORDER BY monetary ASC) - 1) / count(*) OVER ()) AS INTEGER) AS m_score
  FROM buyers
)
SELECT b.customer_id, s.last_order_at, s.recency_days, b.frequency, b.monetary,
       s.r_score, s.f_score, s.m_score,
       CASE WHEN s.r_score IS NULL THEN NULL
            ELSE CAST(s.r_score AS VARCHAR) || CAST(s.f_score AS VARCHAR) || CAST(s.m_score AS VARCHAR) END AS rfm_cell,
       CASE
         WHEN s.r_score IS NULL THEN 'no purchase'
         WHEN s.r_score = 5 AND s.f_score >= 4 THEN 'champions'
         WHEN s.r_score BETWEEN 3 AND 4 AND s.f_score >= 4 THEN 'loyal customers'
         WHEN s.r_score BETWEEN 4 AND 5 AND s.f_score BETWEEN 2 AND 3 THEN 'potential loyalists'
         WHEN s.r_score = 5 AND s.f_score = 1 THEN 'new customers'
         WHEN s.r_score = 4 AND s.f_score = 1 THEN 'promising'
         WHEN s.r_score = 3 AND s.f_score = 3 THEN 'need attention'
         WHEN s.r_score = 3 AND s.f_score <= 2 THEN 'about to sleep'
         WHEN s.r_score <= 2 AND s.f_score = 5 THEN 'cannot lose them'
         WHEN s.r_score <= 2 AND s.f_score BETWEEN 3 AND 4 THEN 'at risk'
         WHEN s.r_score = 1 AND s.f_score = 1 THEN 'lost'
         ELSE 'hibernating'
       END AS rfm_segment
FROM base b LEFT JOIN scored s ON s.customer_id = b.customer_id
ORDER BY b.customer_id
