-- explore_view_events: events inside the analyst's filter: ts from start to end (both days included),
--   channel and touchpoint equal to the chosen ones (a row with a blank channel/touchpoint does not
--   match a chosen one).
-- Parameters: none; getvariable('cx_start' | 'cx_end' | 'cx_channel' | 'cx_touchpoint'), set with bound
--   parameters, NULL meaning "no restriction".
-- Slots: {base}: the store's events table; {scope}: TRUE, or a semi-join on the filtered customers view.
-- Output: every column of events
SELECT x.* FROM {base} x
WHERE (getvariable('cx_start') IS NULL OR x.ts >= getvariable('cx_start'))
  AND (getvariable('cx_end') IS NULL OR x.ts < CAST(getvariable('cx_end') AS DATE) + INTERVAL 1 DAY)
  AND (getvariable('cx_channel') IS NULL OR x.channel = getvariable('cx_channel'))
  AND (getvariable('cx_touchpoint') IS NULL OR x.touchpoint = getvariable('cx_touchpoint'))
  AND {scope}
