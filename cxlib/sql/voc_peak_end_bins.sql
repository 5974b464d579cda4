-- voc_peak_end_bins: mean relationship NPS by the value of each predictor, for the peak-end
--   chart. Customers, ratings, peak and end exactly as in voc_peak_end.sql; predictor values
--   are rounded to the nearest half point.
-- Parameters: $metric (VARCHAR), $midpoint (DOUBLE), $min_ratings (INTEGER), $start, $end
--   (TIMESTAMP or NULL)
-- Output: predictor ('peak_end' | 'mean'), value, customers, mean_nps, sd_nps (sample standard
--   deviation of the NPS answers; NULL for one customer)
WITH rel AS (
  SELECT customer_id, arg_max(score, (ts, response_id)) AS nps_score, max(ts) AS nps_ts
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND score IS NOT NULL
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  GROUP BY customer_id
),
per_customer AS (
  SELECT rel.customer_id, rel.nps_score,
         avg(r.score) AS mean_rating,
         arg_max(r.score, (abs(r.score - $midpoint), -r.score)) AS peak_rating,
         arg_max(r.score, (r.ts, r.response_id)) AS end_rating
  FROM rel
  JOIN survey_responses r
    ON r.customer_id = rel.customer_id AND r.ts < rel.nps_ts
   AND r.metric = $metric AND r.touchpoint IS NOT NULL AND r.score IS NOT NULL
  GROUP BY rel.customer_id, rel.nps_score
  HAVING count(*) >= $min_ratings
),
long_form AS (
  SELECT 'peak_end' AS predictor, round((peak_rating + end_rating) / 2.0 * 2) / 2 AS value, nps_score FROM per_customer
  UNION ALL
  SELECT 'mean' AS predictor, round(mean_rating * 2) / 2 AS value, nps_score FROM per_customer
)
SELECT predictor, value, count(*) AS customers, avg(nps_score) AS mean_nps, stddev_samp(nps_score) AS sd_nps
FROM long_form
GROUP BY predictor, value
ORDER BY predictor, value
