-- paths_step_matrix: share of customers whose k-th event (in the date range) is each touchpoint.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $level ('touchpoint' |
--   'stage'), $max_steps (INTEGER: positions 1..N).
-- Output: position, node (touchpoint or stage; '(ended)' = the journey had fewer events),
--   customers, share (of all customers with an event in the range; each position sums to 1)
WITH ev AS (
  SELECT customer_id, seq, CASE WHEN $level = 'stage' THEN stage ELSE touchpoint END AS node
  FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
firsts AS (SELECT customer_id, min(seq) AS s0 FROM ev GROUP BY customer_id),
total AS (SELECT count(*) AS n FROM firsts),
cells AS (
  SELECT ev.seq - f.s0 + 1 AS position, ev.node, count(*) AS customers
  FROM ev JOIN firsts f ON f.customer_id = ev.customer_id
  WHERE ev.seq - f.s0 + 1 <= $max_steps
  GROUP BY ALL
),
positions AS (SELECT range AS position FROM range(1, $max_steps + 1)),
ended AS (
  SELECT p.position, '(ended)' AS node, t.n - coalesce(sum(c.customers), 0) AS customers
  FROM positions p CROSS JOIN total t LEFT JOIN cells c ON c.position = p.position
  GROUP BY p.position, t.n
)
SELECT position, node, customers, customers / (SELECT n FROM total) AS share
FROM (SELECT * FROM cells UNION ALL SELECT * FROM ended WHERE customers > 0)
ORDER BY position, customers DESC, node
