-- explore_view_customers: customers whose attribute value is one of the chosen values.
-- Parameters: none; getvariable('cx_values') is the list of chosen values (set with a bound parameter).
-- Slots: {base}: the store's customers table; {attribute}: a checked column of customers.
-- Output: every column of customers
SELECT c.* FROM {base} c
WHERE list_contains(getvariable('cx_values'), CAST(c.{attribute} AS VARCHAR))
