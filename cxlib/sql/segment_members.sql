-- segment_members: (re)builds the connection's temp table cx_segment_members(customer_id, segment)
--   from a customer attribute, so segment_summary / segment_usage read one membership relation.
-- Parameters: $missing (VARCHAR: the segment label for a blank attribute value).
-- Slots: {segment}: a checked column of customers.
-- Output: Count (rows written); the temp table cx_segment_members(customer_id VARCHAR, segment VARCHAR).
CREATE OR REPLACE TEMP TABLE cx_segment_members AS
SELECT customer_id, coalesce(CAST({segment} AS VARCHAR), $missing) AS segment
FROM customers
