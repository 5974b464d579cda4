-- service_bands: tickets per group and resolution-time band.
-- Parameters: $start, $end, $horizon (as service_resolution); $limits (DOUBLE[]): the band limits
--   in hours, increasing (24, 72 gives 0-24 h, 24-72 h, > 72 h).
-- Slots: {grp}: as service_resolution.
-- Output: grp, band, tickets. band = the number of limits the ticket's time exceeds (0 = within the
--   first limit, array_length($limits) = beyond the last). A resolved ticket's time is resolved_at - opened_at;
--   an open ticket (unresolved at $horizon) that has been open longer than the last limit is known
--   to be beyond it (band len($limits)); any other open ticket has band NULL (its band is not known yet).
WITH t AS (
  SELECT coalesce(CAST({grp} AS VARCHAR), '(none)') AS grp,
         t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon AS resolved,
         CASE WHEN t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon
              THEN date_diff('second', t.opened_at, t.resolved_at)
              ELSE date_diff('second', t.opened_at, CAST($horizon AS TIMESTAMP)) END / 3600.0 AS hours
  FROM tickets t
  WHERE t.opened_at <= $horizon
    AND ($start IS NULL OR t.opened_at >= $start)
    AND ($end IS NULL OR t.opened_at < $end)
),
b AS (
  SELECT grp, resolved, hours,
         list_sum(list_transform($limits, lambda x: CASE WHEN hours > x THEN 1 ELSE 0 END)) AS exceeded
  FROM t
)
SELECT grp,
       CASE WHEN resolved THEN exceeded WHEN exceeded = array_length($limits) THEN exceeded ELSE NULL END AS band,
       count(*) AS tickets
FROM b
GROUP BY 1, 2
ORDER BY 1, 2 NULLS LAST
