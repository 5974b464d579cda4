-- journey_sankey: the first $steps steps of each customer's journey in the date range, consecutive
-- repeats collapsed (a,a,b -> a,b), as links from each step to the next; at each step the $top
-- nodes with most customers are kept (ties by name) when they have at least $min_size customers,
-- and the rest lumped into 'Other'.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $level ('touchpoint' |
--   'stage'), $steps (INTEGER >= 2: steps kept), $top (INTEGER: nodes kept per step),
--   $ended (BOOLEAN: true = a journey that stops before the next step flows into '(ended)';
--   false = it is dropped).
-- Output: step (the source's step; the target is at step + 1), source, target, customers,
--   source_customers (customers at the source node: its step's customers there),
--   target_customers (customers at the target node at step + 1)
WITH ev AS (
  SELECT customer_id, seq, CASE WHEN $level = 'stage' THEN stage ELSE touchpoint END AS node
  FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
changed AS (
  SELECT customer_id, seq, node, lag(node) OVER (PARTITION BY customer_id ORDER BY seq) AS prev
  FROM ev
),
collapsed AS (
  SELECT customer_id, node, row_number() OVER (PARTITION BY customer_id ORDER BY seq) AS step
  FROM changed
  WHERE prev IS NULL OR prev <> node
  QUALIFY step <= $steps
),
ranked AS (
  SELECT step, node, count(*) AS n,
         row_number() OVER (PARTITION BY step ORDER BY count(*) DESC, node) AS node_rank
  FROM collapsed
  GROUP BY step, node
),
lumped AS (
  SELECT c.customer_id, c.step, CASE WHEN r.node_rank <= $top AND r.n >= $min_size THEN c.node ELSE 'Other' END AS node
  FROM collapsed c JOIN ranked r ON r.step = c.step AND r.node = c.node
),
sizes AS (SELECT step, node, count(*) AS n FROM lumped GROUP BY step, node),
pairs AS (
  SELECT a.step, a.node AS source, coalesce(b.node, '(ended)') AS target
  FROM lumped a LEFT JOIN lumped b ON b.customer_id = a.customer_id AND b.step = a.step + 1
  WHERE a.step < $steps AND (b.node IS NOT NULL OR $ended)
),
links AS (SELECT step, source, target, count(*) AS customers FROM pairs GROUP BY step, source, target)
SELECT l.step, l.source, l.target, l.customers, s.n AS source_customers,
       sum(l.customers) OVER (PARTITION BY l.step, l.target) AS target_customers
FROM links l JOIN sizes s ON s.step = l.step AND s.node = l.source
ORDER BY l.step, l.customers DESC, l.source, l.target
