-- churn_segment_customers: each customer's value of a customers column, as text.
-- Parameters: none. Slots: <segment_col>: a checked column of customers.
-- Output: customer_id, segment ('(missing)' when blank)
SELECT customer_id, coalesce(CAST({segment_col} AS VARCHAR), '(missing)') AS segment FROM customers
