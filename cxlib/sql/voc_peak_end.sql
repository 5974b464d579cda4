-- voc_peak_end: does (peak+end)/2 of a customer's interaction ratings track relationship NPS
--   better than the mean of all ratings? Correlations computed here, over customers.
--   Per customer: the latest relationship NPS answer (metric 'nps', blank touchpoint; ties on ts
--   broken by response_id) and the interaction ratings (metric $metric, with a touchpoint)
--   given strictly before it. peak = the rating farthest from the scale midpoint $midpoint; a
--   tie between a low and a high rating goes to the low one (negativity bias). end = the
--   latest rating before the NPS answer (ties on ts: the higher response_id). Customers with
--   fewer than $min_ratings ratings are left out.
-- Parameters: $metric (VARCHAR, 'csat' or 'ces'), $midpoint (DOUBLE), $min_ratings (INTEGER),
--   $start, $end (TIMESTAMP or NULL: window on the NPS answer, start inclusive, end exclusive)
-- Output: n, r_peak_end, r_mean, r_peak, r_end, r_peak_end_mean (corr of the two predictors),
--   mean_ratings (ratings per customer)
WITH rel AS (
  SELECT customer_id, arg_max(score, (ts, response_id)) AS nps_score, max(ts) AS nps_ts
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND score IS NOT NULL
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  GROUP BY customer_id
),
per_customer AS (
  SELECT rel.customer_id, rel.nps_score,
         count(*) AS ratings,
         avg(r.score) AS mean_rating,
         arg_max(r.score, (abs(r.score - $midpoint), -r.score)) AS peak_rating,
         arg_max(r.score, (r.ts, r.response_id)) AS end_rating
  FROM rel
  JOIN survey_responses r
    ON r.customer_id = rel.customer_id AND r.ts < rel.nps_ts
   AND r.metric = $metric AND r.touchpoint IS NOT NULL AND r.score IS NOT NULL
  GROUP BY rel.customer_id, rel.nps_score
  HAVING count(*) >= $min_ratings
)
SELECT count(*) AS n,
       corr(nps_score, (peak_rating + end_rating) / 2.0) AS r_peak_end,
       corr(nps_score, mean_rating) AS r_mean,
       corr(nps_score, peak_rating) AS r_peak,
       corr(nps_score, end_rating) AS r_end,
       corr((peak_rating + end_rating) / 2.0, mean_rating) AS r_peak_end_mean,
       avg(ratings) AS mean_ratings
FROM per_customer
