-- rfm_members: (re)builds cx_segment_members(customer_id, segment) from cx_rfm (built by rfm.sql):
--   each customer's named RFM segment is their segment.
-- Parameters: none.
-- Output: Count (rows written); the temp table cx_segment_members(customer_id, segment).
CREATE OR REPLACE TEMP TABLE cx_segment_members AS
SELECT customer_id, rfm_segment AS segment FROM cx_rfm
