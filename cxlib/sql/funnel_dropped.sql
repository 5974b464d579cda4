-- funnel_dropped: the customers who dropped at a step, read from TEMP TABLE cx_funnel_customers
-- (built by funnel_customers.sql on the same connection just before). Analyst use only.
-- Parameters: $step (INTEGER >= 2): customers whose furthest step is $step - 1 and whose window
--   is closed (open windows are not drops).
-- Output: customer_id, segment, reached_step, reached_at (time of the last step reached)
SELECT customer_id, segment, furthest AS reached_step, times[CAST(furthest AS INTEGER)] AS reached_at
FROM cx_funnel_customers
WHERE furthest = $step - 1 AND NOT is_open
ORDER BY segment, customer_id
