-- service_resolution_ranks: order statistics of the resolution time per group (for the
--   distribution-free interval of the median: the values at given ranks of the sorted times).
-- Parameters: as service_resolution ($start, $end, $horizon), plus $groups (VARCHAR[]) and
--   $ranks (BIGINT[]): parallel lists, the 1-based rank wanted in each group.
-- Slots: {grp}: as service_resolution.
-- Output: grp, rank, hours (resolved_at - opened_at of the resolved ticket at that rank, ties by
--   ticket_id).
WITH t AS (
  SELECT coalesce(CAST({grp} AS VARCHAR), '(none)') AS grp,
         date_diff('second', t.opened_at, t.resolved_at) / 3600.0 AS hours,
         t.ticket_id
  FROM tickets t
  WHERE t.opened_at <= $horizon
    AND t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon
    AND ($start IS NULL OR t.opened_at >= $start)
    AND ($end IS NULL OR t.opened_at < $end)
),
ranked AS (
  SELECT grp, hours, row_number() OVER (PARTITION BY grp ORDER BY hours, ticket_id) AS rank FROM t
),
picks AS (
  SELECT unnest($groups) AS grp, unnest($ranks) AS rank
)
SELECT p.grp, p.rank, r.hours
FROM picks p JOIN ranked r ON r.grp = p.grp AND r.rank = p.rank
ORDER BY p.grp, p.rank
