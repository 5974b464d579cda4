-- voc_driver_ratings: per customer and touchpoint, the mean interaction rating (metric
--   $metric) given at or before $as_of: the touchpoint-rating inputs of key driver analysis.
-- Parameters: $metric (VARCHAR, 'csat' or 'ces'), $as_of (TIMESTAMP)
-- Output: customer_id, touchpoint, rating, ratings
SELECT customer_id, touchpoint, avg(score) AS rating, count(*) AS ratings
FROM survey_responses
WHERE metric = $metric AND touchpoint IS NOT NULL AND score IS NOT NULL AND ts <= $as_of
GROUP BY customer_id, touchpoint
ORDER BY customer_id, touchpoint
