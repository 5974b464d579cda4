-- paths_step_matrix: share of customers whose k-th event (in the date range) is each touchpoint.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $level ('touchpoint' |
--   'stage'), $max_steps (INTEGER: positions 1..N),
--   $by_mode ('none' | 'column' | 'nps'), $horizon (TIMESTAMP: NPS answers up to it count).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column').
-- Output: segment, position, node (touchpoint or stage; '(ended)' = the journey had fewer events),
--   customers, share (of the segment's customers with an event in the range; each position of a
--   segment sums to 1), total (the segment's customers)
WITH rel_nps AS (  -- latest relationship NPS answer (blank touchpoint); ties on ts -> response_id
  SELECT customer_id, arg_max(score, (ts, response_id)) AS score
  FROM survey_responses
  WHERE $by_mode = 'nps' AND metric = 'nps' AND touchpoint IS NULL AND ts <= $horizon
  GROUP BY customer_id
),
seg AS (  -- each customer's segment ('all' without a breakdown)
  SELECT c.customer_id,
         CASE $by_mode
           WHEN 'none' THEN 'all'
           WHEN 'nps' THEN CASE WHEN r.score IS NULL THEN 'no_response' WHEN r.score >= 9 THEN 'promoter'
                                WHEN r.score >= 7 THEN 'passive' ELSE 'detractor' END
           ELSE coalesce(CAST(c.{segment} AS VARCHAR), '(none)')
         END AS segment
  FROM customers c LEFT JOIN rel_nps r ON r.customer_id = c.customer_id
),
ev AS (
  SELECT customer_id, seq, CASE WHEN $level = 'stage' THEN stage ELSE touchpoint END AS node
  FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
firsts AS (
  SELECT e.customer_id, CASE WHEN $by_mode = 'none' THEN 'all' ELSE coalesce(any_value(s.segment), '(none)') END AS segment, min(e.seq) AS s0
  FROM ev e LEFT JOIN seg s ON s.customer_id = e.customer_id GROUP BY e.customer_id
),
total AS (SELECT segment, count(*) AS n FROM firsts GROUP BY segment),
cells AS (
  SELECT f.segment, ev.seq - f.s0 + 1 AS position, ev.node, count(*) AS customers
  FROM ev JOIN firsts f ON f.customer_id = ev.customer_id
  WHERE ev.seq - f.s0 + 1 <= $max_steps
  GROUP BY ALL
),
positions AS (SELECT unnest(range(1, $max_steps + 1)) AS position),
ended AS (
  SELECT t.segment, p.position, '(ended)' AS node, t.n - coalesce(sum(c.customers), 0) AS customers
  FROM positions p CROSS JOIN total t LEFT JOIN cells c ON c.position = p.position AND c.segment = t.segment
  GROUP BY t.segment, p.position, t.n
)
SELECT x.segment, x.position, x.node, x.customers, x.customers / t.n AS share, t.n AS total
FROM (SELECT * FROM cells UNION ALL SELECT * FROM ended WHERE customers > 0) x
JOIN total t ON t.segment = x.segment
ORDER BY x.segment, x.position, x.customers DESC, x.node
