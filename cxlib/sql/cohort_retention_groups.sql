-- cohort_retention_groups: first-time cohorts per group, with the members active k periods later.
-- Parameters: $period ('month' | 'week'), $as_of (TIMESTAMP), and those of <segments> ($as_of).
-- Slots: <activity>: the (customer_id, p) pairs active at or before $as_of (see cohort_retention.sql);
--   <segments>: (customer_id, segment), keyed like the activity (see cxlib/analysis/churn/retention.py).
-- Output: segment ('(none)' without a value), cohort (period of the first activity), customers
--   (cohort size in the group), period_number k, retained (members active k periods after the cohort),
--   complete (the period k ended by $as_of); one row per cohort and k from 0 to the period holding $as_of
WITH act AS ({activity}),
firsts AS (SELECT customer_id, min(p) AS cohort FROM act GROUP BY customer_id),
members AS (
  SELECT f.customer_id, f.cohort, coalesce(g.segment, '(none)') AS segment
  FROM firsts f LEFT JOIN {segments} g USING (customer_id)
),
sizes AS (SELECT segment, cohort, count(*) AS customers FROM members GROUP BY segment, cohort),
last_p AS (SELECT date_trunc($period, CAST($as_of AS TIMESTAMP)) AS lp),
grid AS (
  SELECT z.segment, z.cohort, z.customers, CAST(k AS INTEGER) AS period_number,
         CASE WHEN $period = 'month' THEN z.cohort + to_months(CAST(k + 1 AS INTEGER))
              ELSE z.cohort + to_days(CAST(7 * (k + 1) AS INTEGER)) END <= $as_of AS complete
  FROM sizes z CROSS JOIN last_p
       CROSS JOIN unnest(range(0, CASE WHEN $period = 'month' THEN date_diff('month', z.cohort, last_p.lp)
                     ELSE date_diff('day', z.cohort, last_p.lp) // 7 END + 1)) AS t(k)
),
cells AS (
  SELECT m.segment, m.cohort,
         CAST(CASE WHEN $period = 'month' THEN date_diff('month', m.cohort, a.p)
                   ELSE date_diff('day', m.cohort, a.p) // 7 END AS INTEGER) AS period_number,
         count(*) AS retained
  FROM members m JOIN act a ON a.customer_id = m.customer_id AND a.p >= m.cohort
  GROUP BY ALL
)
SELECT g.segment, g.cohort, g.customers, g.period_number, coalesce(c.retained, 0) AS retained, g.complete
FROM grid g LEFT JOIN cells c USING (segment, cohort, period_number)
ORDER BY g.segment, g.cohort, g.period_number
