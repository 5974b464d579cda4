-- stage_gaps: per segment and stage, how customers first came into the stage (from the stage before,
-- skipping stages, from a later stage, or starting there), who went back from it, who jumped over
-- it, and the NPS of answers about the stage's touchpoints.
-- Each customer's events in $start..$end that have a stage (unmapped ones are left out), in
-- events_ordered order, as a stage sequence with consecutive repeats collapsed; a move is a change
-- of stage (prev -> next), stage order awareness 1, consideration 2, purchase 3, service 4, loyalty 5.
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive), $by_mode ('none' | 'column' | 'nps').
-- Slots: {segments} a query of ours giving customer_id, segment (cxlib/analysis/journey/common.py, segment_rows).
-- Output: segment, stage_order, stage, staged_customers (of the segment, with a staged event),
--   customers (reached the stage), started_here (their first stage), from_previous (first came from
--   the stage just before), skipped_stage (first came from an earlier stage, skipping at least one),
--   from_later (first came back from a later stage), reversed (moved from this stage to an earlier
--   one at least once), skipped_over (never reached it but moved from a stage before it to one after
--   it), nps_n, promoters, detractors (NPS answers whose touchpoint maps to the stage, by the
--   answering customer's segment)
WITH seg AS ({segments}),
stage_order AS (
  SELECT * FROM (VALUES (1, 'awareness'), (2, 'consideration'), (3, 'purchase'), (4, 'service'), (5, 'loyalty'))
  AS s(stage_order, stage)
),
labelled AS (
  SELECT e.customer_id,
         coalesce(s.segment, CASE $by_mode WHEN 'none' THEN 'all' WHEN 'nps' THEN 'no_response' ELSE '(none)' END)
           AS segment,
         e.seq, so.stage_order AS k
  FROM events_ordered e
  JOIN stage_order so ON so.stage = e.stage
  LEFT JOIN seg s ON s.customer_id = e.customer_id
  WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
),
runs AS (
  SELECT *, lag(k) OVER (PARTITION BY customer_id ORDER BY seq) AS prev_k FROM labelled
),
moves AS (SELECT customer_id, segment, seq, prev_k, k FROM runs WHERE prev_k IS NULL OR prev_k <> k),
firsts AS (  -- the move by which the customer first came into each stage
  SELECT customer_id, any_value(segment) AS segment, k, arg_min(prev_k, seq) AS came_from,
         bool_or(prev_k IS NULL) AS started
  FROM moves GROUP BY customer_id, k
),
arrivals AS (
  SELECT segment, k, count(*) AS customers,
         count(*) FILTER (WHERE started) AS started_here,
         count(*) FILTER (WHERE NOT started AND came_from = k - 1) AS from_previous,
         count(*) FILTER (WHERE NOT started AND came_from < k - 1) AS skipped_stage,
         count(*) FILTER (WHERE NOT started AND came_from > k) AS from_later
  FROM firsts GROUP BY segment, k
),
backs AS (
  SELECT segment, prev_k AS k, count(DISTINCT customer_id) AS reversed
  FROM moves WHERE prev_k > k GROUP BY segment, prev_k
),
overs AS (
  SELECT m.segment, so.stage_order AS k, count(DISTINCT m.customer_id) AS skipped_over
  FROM moves m JOIN stage_order so ON m.prev_k < so.stage_order AND so.stage_order < m.k
  WHERE NOT EXISTS (SELECT 1 FROM firsts f WHERE f.customer_id = m.customer_id AND f.k = so.stage_order)
  GROUP BY m.segment, so.stage_order
),
totals AS (SELECT segment, count(DISTINCT customer_id) AS staged_customers FROM labelled GROUP BY segment),
answers AS (
  SELECT coalesce(s.segment, CASE $by_mode WHEN 'none' THEN 'all' WHEN 'nps' THEN 'no_response' ELSE '(none)' END)
           AS segment,
         so.stage_order AS k, count(*) AS nps_n,
         count(*) FILTER (WHERE r.score >= 9) AS promoters, count(*) FILTER (WHERE r.score <= 6) AS detractors
  FROM survey_responses r
  JOIN touchpoint_stages m ON m.touchpoint = r.touchpoint
  JOIN stage_order so ON so.stage = m.stage
  LEFT JOIN seg s ON s.customer_id = r.customer_id
  WHERE r.metric = 'nps' AND r.score IS NOT NULL
    AND ($start IS NULL OR r.ts >= $start) AND ($end IS NULL OR r.ts < $end)
  GROUP BY ALL
),
segments AS (SELECT segment FROM totals UNION SELECT segment FROM answers)
SELECT g.segment, so.stage_order, so.stage, coalesce(t.staged_customers, 0) AS staged_customers,
       coalesce(a.customers, 0) AS customers, coalesce(a.started_here, 0) AS started_here,
       coalesce(a.from_previous, 0) AS from_previous, coalesce(a.skipped_stage, 0) AS skipped_stage,
       coalesce(a.from_later, 0) AS from_later, coalesce(b.reversed, 0) AS reversed,
       coalesce(o.skipped_over, 0) AS skipped_over,
       coalesce(n.nps_n, 0) AS nps_n, coalesce(n.promoters, 0) AS promoters, coalesce(n.detractors, 0) AS detractors
FROM segments g CROSS JOIN stage_order so
LEFT JOIN totals t ON t.segment = g.segment
LEFT JOIN arrivals a ON a.segment = g.segment AND a.k = so.stage_order
LEFT JOIN backs b ON b.segment = g.segment AND b.k = so.stage_order
LEFT JOIN overs o ON o.segment = g.segment AND o.k = so.stage_order
LEFT JOIN answers n ON n.segment = g.segment AND n.k = so.stage_order
ORDER BY g.segment, so.stage_order
