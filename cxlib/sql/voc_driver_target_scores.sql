-- voc_driver_target_scores: per customer, the mean of their answers to survey metric $metric
--   given at or before $as_of (any touchpoint or none): the CSAT or CES target of key drivers.
-- Parameters: $metric (VARCHAR, 'csat' or 'ces'), $as_of (TIMESTAMP)
-- Output: customer_id, score (mean answer), answers
SELECT customer_id, avg(score) AS score, count(*) AS answers
FROM survey_responses
WHERE metric = $metric AND score IS NOT NULL AND ts <= $as_of
GROUP BY customer_id
ORDER BY customer_id
