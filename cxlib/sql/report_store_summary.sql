-- report_store_summary: what a report was computed from, for its header.
-- Parameters: none.
-- Output: table_name, row_count, latest (newest timestamp in the table, NULL when empty),
--         content_hash (order-independent: sum of the rows' hashes, as text; '0' when empty).
SELECT 'customers' AS table_name, count(*) AS row_count, max(signup_at) AS latest,
       coalesce(sum(hash(t)), 0)::VARCHAR AS content_hash FROM customers t
UNION ALL
SELECT 'touchpoint_stages', count(*), NULL::TIMESTAMP, coalesce(sum(hash(t)), 0)::VARCHAR FROM touchpoint_stages t
UNION ALL
SELECT 'events', count(*), max(ts), coalesce(sum(hash(t)), 0)::VARCHAR FROM events t
UNION ALL
SELECT 'survey_responses', count(*), max(ts), coalesce(sum(hash(t)), 0)::VARCHAR FROM survey_responses t
UNION ALL
SELECT 'orders', count(*), max(ts), coalesce(sum(hash(t)), 0)::VARCHAR FROM orders t
UNION ALL
SELECT 'tickets', count(*), greatest(max(opened_at), max(resolved_at)), coalesce(sum(hash(t)), 0)::VARCHAR FROM tickets t
UNION ALL
SELECT 'subscriptions', count(*), greatest(max(started_at), max(ended_at)), coalesce(sum(hash(t)), 0)::VARCHAR
FROM subscriptions t
