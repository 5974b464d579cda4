-- explore_choices: the channels and touchpoints that occur in events, for the filter panel's menus.
-- Parameters: none
-- Output: kind ('channel' | 'touchpoint'), value
SELECT DISTINCT 'channel' AS kind, channel AS value FROM events WHERE channel IS NOT NULL
UNION ALL
SELECT DISTINCT 'touchpoint' AS kind, touchpoint AS value FROM events WHERE touchpoint IS NOT NULL
ORDER BY 1, 2
