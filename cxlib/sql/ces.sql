-- ces: customer effort (1-7, higher = easier) per segment and period: n, mean, sample SD,
--   and the count of easy answers (5-7).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive),
--   $touchpoint (VARCHAR or NULL = every ces response), $channel (VARCHAR or NULL),
--   $period (VARCHAR 'week' | 'month' | 'quarter', or NULL for no period).
-- Slots: {segment}: the grouping expression, a checked column of c (customers) or
--   r (survey_responses), or NULL for no grouping.
-- Output: segment, period, n, mean, sd, easy
SELECT
  {segment} AS segment,
  CASE WHEN $period IS NULL THEN NULL ELSE date_trunc($period, r.ts) END AS period,
  count(*) AS n,
  avg(r.score) AS mean,
  stddev_samp(r.score) AS sd,
  count(*) FILTER (WHERE r.score >= 5) AS easy
FROM survey_responses r
LEFT JOIN customers c ON c.customer_id = r.customer_id
WHERE r.metric = 'ces' AND r.score IS NOT NULL
  AND ($start IS NULL OR r.ts >= $start)
  AND ($end IS NULL OR r.ts < $end)
  AND ($touchpoint IS NULL OR r.touchpoint = $touchpoint)
  AND ($channel IS NULL OR r.channel = $channel)
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2
