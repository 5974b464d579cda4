-- explore_view_customers: customers whose attribute value is one of the chosen values and who are in
--   the chosen saved segment, each condition applying only when chosen.
-- Parameters: none; getvariable('cx_values') is the list of chosen values (NULL: any), set with a bound
--   parameter; getvariable('cx_segment') the saved segment's name, read by {segment}.
-- Slots: {base}: the store's customers table; {attribute}: c.<a checked column of customers>, or NULL
--   when no values are chosen; {segment}: TRUE, or a semi-join on the saved segment's members (see
--   cxlib.explore.filters.save_segment).
-- Output: every column of customers
SELECT c.* FROM {base} c
WHERE (getvariable('cx_values') IS NULL OR list_contains(getvariable('cx_values'), CAST({attribute} AS VARCHAR)))
  AND {segment}
