-- churn_value: churn and revenue per segment (the value of experience by NPS group).
-- Parameters: those of <status> and <segments>, plus $as_of (TIMESTAMP).
-- Slots: <status>: a churn_status_* query; <segments>: a churn_segment_* query.
-- Output: segment, customers (all), judged, churned, churn_rate (churned / judged),
--   active (not churned), revenue (all orders up to $as_of), revenue_per_customer,
--   revenue_last_year (orders in the 365 days up to $as_of, of customers not churned),
--   revenue_last_year_per_active
WITH rev AS (
  SELECT customer_id,
         sum(amount) AS revenue,
         coalesce(sum(amount) FILTER (WHERE ts > $as_of - INTERVAL 365 DAY), 0) AS revenue_last_year
  FROM orders WHERE ts <= $as_of GROUP BY customer_id
)
SELECT coalesce(g.segment, '(none)') AS segment,
       count(*) AS customers,
       count(*) FILTER (WHERE s.judged) AS judged,
       count(*) FILTER (WHERE s.judged AND s.churned) AS churned,
       CAST(count(*) FILTER (WHERE s.judged AND s.churned) AS DOUBLE)
         / nullif(count(*) FILTER (WHERE s.judged), 0) AS churn_rate,
       count(*) FILTER (WHERE NOT s.churned) AS active,
       coalesce(sum(r.revenue), 0) AS revenue,
       coalesce(sum(r.revenue), 0) / count(*) AS revenue_per_customer,
       coalesce(sum(r.revenue_last_year) FILTER (WHERE NOT s.churned), 0) AS revenue_last_year,
       coalesce(sum(r.revenue_last_year) FILTER (WHERE NOT s.churned), 0)
         / nullif(count(*) FILTER (WHERE NOT s.churned), 0) AS revenue_last_year_per_active
FROM {status} s
LEFT JOIN {segments} g USING (customer_id)
LEFT JOIN rev r USING (customer_id)
GROUP BY 1
ORDER BY 1
