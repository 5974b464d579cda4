-- start_end: per touchpoint (or stage), the customers whose journey starts there and ends there,
-- pm4py's start and end activities (pm4py.get_start_activities / get_end_activities: a case's
-- first / last event after sorting by time; the count is the number of cases). A case = one
-- customer's events in the date range, in the order of events_ordered (time, then touchpoint, then
-- channel for events at the same time).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive),
--   $level ('touchpoint' | 'stage': each event's stage, 'unmapped' without one).
-- Output: position ('start' | 'end'), node, customers (cases whose first / last event is node),
--   cases (all customers with an event in the range).
WITH ev AS (
  SELECT customer_id, seq, CASE WHEN $level = 'stage' THEN stage ELSE touchpoint END AS node
  FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
bounds AS (
  SELECT customer_id, arg_min(node, seq) AS first_node, arg_max(node, seq) AS last_node
  FROM ev GROUP BY customer_id
),
total AS (SELECT count(*) AS cases FROM bounds)
SELECT position, node, customers, (SELECT cases FROM total) AS cases
FROM (
  SELECT 'start' AS position, first_node AS node, count(*) AS customers FROM bounds GROUP BY first_node
  UNION ALL
  SELECT 'end', last_node, count(*) FROM bounds GROUP BY last_node
)
ORDER BY position DESC, customers DESC, node
