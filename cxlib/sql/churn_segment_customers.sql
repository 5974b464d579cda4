-- churn_segment_customers: each customer's value of a customers column, as text.
-- Parameters: none. Slots: <segment_col>: a checked column of customers.
-- Output: customer_id, segment ('(none)' when blank)
SELECT customer_id, coalesce(CAST({segment_col} AS VARCHAR), '(none)') AS segment FROM customers
