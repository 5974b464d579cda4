-- impact_cells: a metric's observations per period, group (treated or not) and customer, for the
--   impact of a dated change (customer-level: never for stakeholder output as it is).
-- Parameters: $metric ('nps' | 'csat' | 'ces': survey answers; 'fcr': resolved tickets), $period
--   ('week' | 'month' | 'quarter'), $start, $end (TIMESTAMP or NULL: inclusive, exclusive), $horizon
--   (TIMESTAMP: the as-of date), $value (VARCHAR or NULL: the treated group's value of {column};
--   NULL: every observation is treated).
-- Slots: {column}: the attribute that defines the treated group: a checked column of c (customers)
--   or o.channel (the answer's or ticket's channel); NULL when $value is NULL.
-- Observations: NPS answers as +100 (9-10), 0 (7-8), -100 (0-6), so their mean is NPS; CSAT answers
--   as 100 (4-5) or 0, so their mean is CSAT in percent; CES answers as their score (1-7); resolved
--   tickets with a contact count as 100 when solved at the first contact (contacts = 1, not
--   reopened) or 0, dated by opened_at.
-- Output: period, treated (1 = the treated group, 0 = the comparison; observations whose customer
--   has no value for the attribute are left out), customer_id, n, total (sum of the values), sumsq.
WITH obs AS (
  SELECT r.customer_id, r.ts, r.channel,
         CASE WHEN $metric = 'nps' THEN CASE WHEN r.score >= 9 THEN 100.0 WHEN r.score <= 6 THEN -100.0 ELSE 0.0 END
              WHEN $metric = 'csat' THEN CASE WHEN r.score >= 4 THEN 100.0 ELSE 0.0 END
              ELSE CAST(r.score AS DOUBLE) END AS y
  FROM survey_responses r
  WHERE $metric IN ('nps', 'csat', 'ces') AND r.metric = $metric AND r.score IS NOT NULL
  UNION ALL
  SELECT t.customer_id, t.opened_at, t.channel,
         CASE WHEN t.contacts = 1 AND NOT coalesce(t.reopened, false) THEN 100.0 ELSE 0.0 END
  FROM tickets t
  WHERE $metric = 'fcr' AND t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon AND t.contacts IS NOT NULL
),
g AS (
  SELECT date_trunc($period, o.ts) AS period,
         CASE WHEN $value IS NULL THEN 1
              WHEN {column} IS NULL THEN NULL
              WHEN CAST({column} AS VARCHAR) = $value THEN 1 ELSE 0 END AS treated,
         o.customer_id, o.y
  FROM obs o
  LEFT JOIN customers c ON c.customer_id = o.customer_id
  WHERE o.ts <= $horizon
    AND ($start IS NULL OR o.ts >= $start)
    AND ($end IS NULL OR o.ts < $end)
)
SELECT period, treated, customer_id, count(*) AS n, sum(y) AS total, sum(y * y) AS sumsq
FROM g
WHERE treated IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
