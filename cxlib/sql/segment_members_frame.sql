-- segment_members_frame: (re)builds the temp table cx_segment_members(customer_id, segment) from
--   a caller's assignment frame registered as cx_segment_input(customer_id, segment), e.g. RFM
--   segments or behavioural clusters. Customers not in the customers table are ignored.
-- Parameters: $missing (VARCHAR: the segment label for a blank segment value).
-- Output: Count (rows written); the temp table cx_segment_members(customer_id VARCHAR, segment VARCHAR).
CREATE OR REPLACE TEMP TABLE cx_segment_members AS
SELECT c.customer_id, coalesce(CAST(i.segment AS VARCHAR), $missing) AS segment
FROM cx_segment_input i
JOIN customers c ON c.customer_id = CAST(i.customer_id AS VARCHAR)
