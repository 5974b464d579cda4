-- service_resolution: tickets per group, how many are resolved or still open, and the median
--   resolution time of the resolved ones.
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive): on opened_at;
--   $horizon (TIMESTAMP): the end of the observed data (tickets opened after it are left out; a
--   ticket resolved after it counts as open).
-- Slots: {grp}: the grouping expression over t (tickets): a checked column, or 'all'.
-- Output: grp (text; '(none)' for a blank value), tickets, resolved, still_open, median_hours
--   (median of resolved_at - opened_at in hours over the resolved tickets; NULL when none).
WITH t AS (
  SELECT coalesce(CAST({grp} AS VARCHAR), '(none)') AS grp,
         t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon AS resolved,
         date_diff('second', t.opened_at, t.resolved_at) / 3600.0 AS hours
  FROM tickets t
  WHERE t.opened_at <= $horizon
    AND ($start IS NULL OR t.opened_at >= $start)
    AND ($end IS NULL OR t.opened_at < $end)
)
SELECT grp,
       count(*) AS tickets,
       count(*) FILTER (WHERE resolved) AS resolved,
       count(*) FILTER (WHERE NOT resolved) AS still_open,
       median(hours) FILTER (WHERE resolved) AS median_hours
FROM t
GROUP BY grp
ORDER BY grp
