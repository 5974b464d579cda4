-- churn_cox_customers: the customers the Cox model follows (those with rows in churn_cox_intervals).
-- Parameters: those of the status slot.
-- Slots: status: a churn_status_* query.
-- Output: customer_id, churned; customers whose follow-up is shorter than a microsecond (churned at
--   their start) have no interval and are left out, as in churn_cox_intervals.
SELECT customer_id, churned
FROM {status}
WHERE duration_days > 0 AND CAST(round(duration_days * 86400000000) AS BIGINT) > 0
ORDER BY customer_id
