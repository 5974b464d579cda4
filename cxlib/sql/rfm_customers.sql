-- rfm_customers: the per-customer RFM table built by rfm.sql (customer-level: for exports).
-- Parameters: none.
-- Output: customer_id, last_order_at, recency_days, frequency, monetary, r_score, f_score,
--   m_score, rfm_cell, rfm_segment
SELECT customer_id, last_order_at, recency_days, frequency, monetary,
       r_score, f_score, m_score, rfm_cell, rfm_segment
FROM cx_rfm ORDER BY customer_id
