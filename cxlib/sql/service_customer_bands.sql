-- service_customer_bands: each customer's slowest ticket, as a resolution-time band.
-- Parameters: $horizon (TIMESTAMP: the as-of date; tickets opened after it are left out);
--   $limits (DOUBLE[]): band limits in hours, as service_bands.
-- Output: customer_id, band: the number of limits exceeded by the customer's slowest ticket,
--   where a resolved ticket counts with resolved_at - opened_at and a ticket still open at
--   $horizon with the time it has been open so far (a lower bound of its resolution time).
--   Customers without a ticket are not in the output. Customer-level: never for stakeholder output.
WITH t AS (
  SELECT t.customer_id,
         CASE WHEN t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon
              THEN date_diff('second', t.opened_at, t.resolved_at)
              ELSE date_diff('second', t.opened_at, CAST($horizon AS TIMESTAMP)) END / 3600.0 AS hours
  FROM tickets t
  WHERE t.opened_at <= $horizon
),
slowest AS (
  SELECT customer_id, max(hours) AS hours FROM t GROUP BY customer_id
)
SELECT customer_id, list_sum(list_transform($limits, lambda x: CASE WHEN hours > x THEN 1 ELSE 0 END)) AS band
FROM slowest
ORDER BY customer_id
