-- explore_view_tickets: tickets inside the analyst's filter: opened_at from start to end (both days
--   included), channel equal to the chosen one (tickets carry no touchpoint, so a touchpoint filter
--   does not apply to them).
-- Parameters: none; getvariable('cx_start' | 'cx_end' | 'cx_channel'), NULL meaning "no restriction".
-- Slots: {base}: the store's tickets table; {scope}: TRUE, or a semi-join on the filtered customers view.
-- Output: every column of tickets
SELECT x.* FROM {base} x
WHERE (getvariable('cx_start') IS NULL OR x.opened_at >= getvariable('cx_start'))
  AND (getvariable('cx_end') IS NULL OR x.opened_at < CAST(getvariable('cx_end') AS DATE) + INTERVAL 1 DAY)
  AND (getvariable('cx_channel') IS NULL OR x.channel = getvariable('cx_channel'))
  AND {scope}
