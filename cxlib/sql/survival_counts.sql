-- survival_counts: customers per segment, whole days of follow-up and outcome (for Kaplan-Meier).
-- Parameters: those of <status> and <segments>.
-- Slots: <status>: a churn_status_* query; <segments>: a churn_segment_* query.
-- Output: segment, duration_days (completed days, floor of the exact duration), event
--   (true = churned, false = censored), customers
SELECT coalesce(g.segment, '(none)') AS segment,
       CAST(floor(s.duration_days) AS BIGINT) AS duration_days,
       s.churned AS event,
       count(*) AS customers
FROM {status} s
LEFT JOIN {segments} g USING (customer_id)
GROUP BY ALL
ORDER BY ALL
