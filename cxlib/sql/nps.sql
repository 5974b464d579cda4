-- nps: counts of promoters (9-10), passives (7-8) and detractors (0-6) per segment and period.
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive),
--   $touchpoint (VARCHAR or NULL = every nps response), $channel (VARCHAR or NULL),
--   $period (VARCHAR 'week' | 'month' | 'quarter', or NULL for no period).
-- Slots: {segment}: the grouping expression, a checked column of c (customers) or
--   r (survey_responses), or NULL for no grouping.
-- Output: segment, period, n, promoters, passives, detractors
SELECT
  {segment} AS segment,
  CASE WHEN $period IS NULL THEN NULL ELSE date_trunc($period, r.ts) END AS period,
  count(*) AS n,
  count(*) FILTER (WHERE r.score >= 9) AS promoters,
  count(*) FILTER (WHERE r.score BETWEEN 7 AND 8) AS passives,
  count(*) FILTER (WHERE r.score <= 6) AS detractors
FROM survey_responses r
LEFT JOIN customers c ON c.customer_id = r.customer_id
WHERE r.metric = 'nps' AND r.score IS NOT NULL
  AND ($start IS NULL OR r.ts >= $start)
  AND ($end IS NULL OR r.ts < $end)
  AND ($touchpoint IS NULL OR r.touchpoint = $touchpoint)
  AND ($channel IS NULL OR r.channel = $channel)
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2
