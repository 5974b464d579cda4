-- cluster_ratings: per customer signed up by $as_of, their mean CSAT (1-5) and mean CES (1-7)
--   over every answer up to $as_of; NULL when they never answered.
-- Parameters: $as_of (TIMESTAMP).
-- Output: customer_id, mean_csat, mean_ces
SELECT c.customer_id,
       avg(r.score) FILTER (WHERE r.metric = 'csat') AS mean_csat,
       avg(r.score) FILTER (WHERE r.metric = 'ces') AS mean_ces
FROM customers c
LEFT JOIN survey_responses r ON r.customer_id = c.customer_id AND r.ts <= $as_of
WHERE c.signup_at <= $as_of
GROUP BY c.customer_id ORDER BY c.customer_id
