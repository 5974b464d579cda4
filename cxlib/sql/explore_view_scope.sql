-- explore_view_scope: a table restricted only to the customers of the analyst's filter
--   (customers, subscriptions, and events_ordered when no row filter is set).
-- Parameters: none; the filter's values are the connection's variables, set with bound parameters.
-- Slots: {base}: the store's table; {scope}: TRUE, or a semi-join on the filtered customers view.
-- Output: every column of {base}
SELECT x.* FROM {base} x
WHERE {scope}
