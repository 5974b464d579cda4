-- churn_rate: share of judged customers who have churned, per segment.
-- Parameters: those of <status> ($as_of, and $inactivity_days when non-contractual).
-- Slots: <status>: a churn_status_* query; <segments>: a churn_segment_* query.
-- Output: segment, customers (judged), churned, churn_rate (0..1), not_judged
SELECT coalesce(g.segment, '(none)') AS segment,
       count(*) FILTER (WHERE s.judged) AS customers,
       count(*) FILTER (WHERE s.judged AND s.churned) AS churned,
       CAST(count(*) FILTER (WHERE s.judged AND s.churned) AS DOUBLE)
         / nullif(count(*) FILTER (WHERE s.judged), 0) AS churn_rate,
       count(*) FILTER (WHERE NOT s.judged) AS not_judged
FROM {status} s
LEFT JOIN {segments} g USING (customer_id)
GROUP BY 1
ORDER BY 1
