-- explore_segment_insert: save the ids of cx_segment_ids as the members of segment $name.
-- Parameters: $name (VARCHAR); reads cx_segment_ids (customer_id VARCHAR, a DataFrame registered on the cursor).
-- Output: Count (rows inserted)
INSERT INTO cx_session.main.saved_segment_members (name, customer_id)
SELECT DISTINCT $name, i.customer_id FROM cx_segment_ids i
