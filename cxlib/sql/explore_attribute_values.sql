-- explore_attribute_values: the values of one customer attribute with their customer counts, for the
--   filter panel's value list (blank values are listed as NULL).
-- Parameters: $limit (INTEGER: at most this many values, the most common first)
-- Slots: {attribute}: a checked column of customers
-- Output: value, customers
SELECT CAST({attribute} AS VARCHAR) AS value, count(*) AS customers
FROM customers
GROUP BY 1
ORDER BY customers DESC, value NULLS LAST
LIMIT $limit
