-- churn_revenue_last_year: each customer's order revenue in the 365 days up to $as_of.
-- Parameters: $as_of (TIMESTAMP).
-- Output: customer_id, revenue_last_year (customers without orders in that year have no row)
SELECT customer_id, sum(amount) AS revenue_last_year
FROM orders
WHERE ts <= $as_of AND ts > $as_of - INTERVAL 365 DAY
GROUP BY customer_id
