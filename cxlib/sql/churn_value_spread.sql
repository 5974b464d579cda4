-- churn_value_spread: the spread of revenue per segment, for the intervals of value_by_nps_group.
-- Parameters: those of <status> and <segments>, plus $as_of (TIMESTAMP).
-- Slots: <status>: a churn_status_* query; <segments>: a churn_segment_* query.
-- Output: segment, revenue_sd (sample standard deviation of revenue up to $as_of over all the
--   segment's customers, 0 for those without orders), revenue_last_year_sd (of the revenue in the
--   365 days up to $as_of over customers not churned, 0 for those without orders then);
--   the same customers and revenues as churn_value.
WITH rev AS (
  SELECT customer_id,
         sum(amount) AS revenue,
         coalesce(sum(amount) FILTER (WHERE ts > $as_of - INTERVAL 365 DAY), 0) AS revenue_last_year
  FROM orders WHERE ts <= $as_of GROUP BY customer_id
)
SELECT coalesce(g.segment, '(none)') AS segment,
       stddev_samp(coalesce(r.revenue, 0)) AS revenue_sd,
       stddev_samp(coalesce(r.revenue_last_year, 0)) FILTER (WHERE NOT s.churned) AS revenue_last_year_sd
FROM {status} s
LEFT JOIN {segments} g USING (customer_id)
LEFT JOIN rev r USING (customer_id)
GROUP BY 1
ORDER BY 1
