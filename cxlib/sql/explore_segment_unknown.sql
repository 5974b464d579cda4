-- explore_segment_unknown: the ids of a segment being saved that are not customers of the store.
-- Parameters: none; reads cx_segment_ids (customer_id VARCHAR: the ids, a DataFrame registered on the cursor).
-- Output: customer_id, ordered
SELECT DISTINCT i.customer_id
FROM cx_segment_ids i
WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = i.customer_id)
ORDER BY i.customer_id
