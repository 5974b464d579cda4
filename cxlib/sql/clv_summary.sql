-- clv_summary: per customer repeat-purchase summary for BG/NBD and Gamma-Gamma (orders table).
-- Parameters: $calibration_end (TIMESTAMP: purchases after it form the holdout),
--   $holdout_end (TIMESTAMP), $unit_days (DOUBLE: days per time unit, 7 for weeks).
-- Purchases on the same calendar day are one transaction (their amounts summed), as in the
-- usual RFM summary (lifetimes' summary_data_from_transaction_data).
-- Output: customer_id, frequency (repeat transactions in calibration = transaction days - 1),
--   recency (first to last calibration transaction, in units), T (first transaction to
--   $calibration_end, in units), monetary_value (mean value of the repeat transactions; 0 when
--   none), holdout_purchases (transaction days after $calibration_end up to $holdout_end)
WITH days AS (
  SELECT customer_id, CAST(ts AS DATE) AS d, sum(amount) AS amount
  FROM orders WHERE ts <= $holdout_end
  GROUP BY ALL
),
cal AS (
  SELECT customer_id, d, amount, row_number() OVER (PARTITION BY customer_id ORDER BY d) AS k
  FROM days WHERE d <= CAST($calibration_end AS DATE)
),
agg AS (
  SELECT customer_id,
         count(*) - 1 AS frequency,
         date_diff('day', min(d), max(d)) / $unit_days AS recency,
         date_diff('day', min(d), CAST($calibration_end AS DATE)) / $unit_days AS T,
         coalesce(avg(amount) FILTER (WHERE k > 1), 0) AS monetary_value
  FROM cal GROUP BY customer_id
),
hold AS (
  SELECT customer_id, count(*) AS holdout_purchases
  FROM days WHERE d > CAST($calibration_end AS DATE) GROUP BY customer_id
)
SELECT agg.customer_id, agg.frequency, agg.recency, agg.T, agg.monetary_value,
       coalesce(hold.holdout_purchases, 0) AS holdout_purchases
FROM agg LEFT JOIN hold USING (customer_id)
ORDER BY agg.customer_id
