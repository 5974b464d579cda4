-- churn_segment_all: every customer in one segment 'all' (no breakdown).
-- Parameters: none. Output: customer_id, segment
SELECT customer_id, 'all' AS segment FROM customers
