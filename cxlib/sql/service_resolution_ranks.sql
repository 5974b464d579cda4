-- service_resolution_ranks: order statistics of the resolution time per group (for the
--   distribution-free interval of the median: the values at given ranks of the sorted times).
-- Parameters: as service_resolution ($start, $end, $horizon), plus $picks (VARCHAR[]): the ranks
--   wanted, each as '<1-based rank>:<group>' (the rank's digits end at the first ':', so any group
--   text is unambiguous; one list, not two parallel ones: Spark cannot unnest two lists side by side).
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
)
SELECT grp, rank, hours
FROM ranked
WHERE list_contains($picks, CAST(rank AS VARCHAR) || ':' || grp)
ORDER BY grp, rank
