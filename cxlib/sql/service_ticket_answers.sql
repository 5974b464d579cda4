-- service_ticket_answers: CSAT and CES answers given after a resolved ticket, per group and the
--   ticket's resolution-time band.
-- Parameters: $start, $end, $horizon (as service_resolution: on the ticket's opened_at);
--   $limits (DOUBLE[]): band limits in hours, as service_bands; $window_hours (DOUBLE): how long
--   after resolved_at an answer still belongs to the ticket.
-- Slots: {grp}: the grouping expression over t (tickets), as service_resolution.
-- Link rule: an answer (metric csat or ces, answered by $horizon) belongs to a resolved ticket of
--   the same customer when it was given after resolved_at and at most $window_hours later, and
--   its channel is the ticket's (or either channel is blank). When several tickets qualify, the
--   one resolved last before the answer wins (ties by ticket_id), so an answer counts once.
-- Output: grp, band (as service_bands), csat_answers, satisfied (CSAT 4-5), ces_answers, ces_sum,
--   ces_sumsq.
WITH t AS (
  SELECT t.*, coalesce(CAST({grp} AS VARCHAR), '(none)') AS grp,
         date_diff('second', t.opened_at, t.resolved_at) / 3600.0 AS hours
  FROM tickets t
  WHERE t.opened_at <= $horizon
    AND t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon
    AND ($start IS NULL OR t.opened_at >= $start)
    AND ($end IS NULL OR t.opened_at < $end)
),
linked AS (
  SELECT r.response_id, r.metric, r.score, t.grp, t.hours,
         row_number() OVER (PARTITION BY r.response_id ORDER BY t.resolved_at DESC, t.ticket_id DESC) AS pick
  FROM survey_responses r
  JOIN t ON t.customer_id = r.customer_id
        AND r.ts > t.resolved_at
        AND r.ts <= t.resolved_at + to_seconds(CAST(round($window_hours * 3600) AS BIGINT))
        AND (r.channel IS NULL OR t.channel IS NULL OR r.channel = t.channel)
  WHERE r.metric IN ('csat', 'ces') AND r.score IS NOT NULL AND r.ts <= $horizon
)
SELECT grp,
       list_sum(list_transform($limits, lambda x: CASE WHEN hours > x THEN 1 ELSE 0 END)) AS band,
       count(*) FILTER (WHERE metric = 'csat') AS csat_answers,
       count(*) FILTER (WHERE metric = 'csat' AND score >= 4) AS satisfied,
       count(*) FILTER (WHERE metric = 'ces') AS ces_answers,
       coalesce(sum(score) FILTER (WHERE metric = 'ces'), 0) AS ces_sum,
       coalesce(sum(CAST(score AS DOUBLE) * score) FILTER (WHERE metric = 'ces'), 0) AS ces_sumsq
FROM linked
WHERE pick = 1
GROUP BY 1, 2
ORDER BY 1, 2
