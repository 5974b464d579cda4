-- voc_peak_end_ratings: per customer, the peak, end and mean of their interaction ratings, for
--   peak-end against churn. Ratings: metric $metric with a touchpoint, given at or before $as_of
--   and within $start..$end. peak = the rating farthest from the scale midpoint $midpoint; a tie
--   between a low and a high rating goes to the low one (negativity bias). end = the latest
--   rating (ties on ts: the higher response_id). Customers with fewer than $min_ratings ratings
--   are left out. As voc_peak_end.sql, without the NPS answer.
-- Parameters: $metric (VARCHAR, 'csat' or 'ces'), $midpoint (DOUBLE), $min_ratings (INTEGER),
--   $as_of (TIMESTAMP), $start, $end (TIMESTAMP or NULL: start inclusive, end exclusive)
-- Output: customer_id, ratings, peak_rating, end_rating, mean_rating
SELECT customer_id,
       count(*) AS ratings,
       arg_max(score, (abs(score - $midpoint), -score)) AS peak_rating,
       arg_max(score, (ts, response_id)) AS end_rating,
       avg(score) AS mean_rating
FROM survey_responses
WHERE metric = $metric AND touchpoint IS NOT NULL AND score IS NOT NULL AND ts <= $as_of
  AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
GROUP BY customer_id
HAVING count(*) >= $min_ratings
ORDER BY customer_id
