-- csat: respondents and satisfied respondents (top-2-box, 4-5 on 1-5) per segment and period.
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive),
--   $touchpoint (VARCHAR or NULL = every csat response), $channel (VARCHAR or NULL),
--   $period (VARCHAR 'week' | 'month' | 'quarter', or NULL for no period).
-- Slots: {segment}: the grouping expression, a checked column of c (customers) or
--   r (survey_responses), or NULL for no grouping.
-- Output: segment, period, n, satisfied
SELECT
  {segment} AS segment,
  CASE WHEN $period IS NULL THEN NULL ELSE date_trunc($period, r.ts) END AS period,
  count(*) AS n,
  count(*) FILTER (WHERE r.score >= 4) AS satisfied
FROM survey_responses r
LEFT JOIN customers c ON c.customer_id = r.customer_id
WHERE r.metric = 'csat' AND r.score IS NOT NULL
  AND ($start IS NULL OR r.ts >= $start)
  AND ($end IS NULL OR r.ts < $end)
  AND ($touchpoint IS NULL OR r.touchpoint = $touchpoint)
  AND ($channel IS NULL OR r.channel = $channel)
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2
