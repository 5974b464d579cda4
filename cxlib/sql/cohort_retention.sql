-- cohort_retention: retention matrix by cohort period (activity = events and orders).
-- Parameters: $period ('month' | 'week'), $as_of (TIMESTAMP: activity after it is ignored),
--   $kind ('first_time': a customer's cohort is the period of their first activity;
--          'recurring': a customer belongs to the cohort of every period they were active in).
-- Slots: {activity}: the (customer_id, p) pairs active at or before $as_of, one row each: from the
--   table customer_activity (customer_id is then the integer key cid), or computed from events and
--   orders (a filtered store, or a store without the table); see cxlib/analysis/churn/retention.py.
-- Output: cohort, period_number (0 = the cohort period), period (start of that period),
--   customers (cohort size), retained (cohort members active in that period), retention
--   (retained / customers), incomplete (the period ends after $as_of, so it is only partly observed)
WITH act AS ({activity}),
firsts AS (SELECT customer_id, min(p) AS cohort FROM act GROUP BY customer_id),
cohorts AS (
  SELECT customer_id, cohort FROM firsts WHERE $kind = 'first_time'
  UNION ALL
  SELECT customer_id, p AS cohort FROM act WHERE $kind = 'recurring'
),
sizes AS (SELECT cohort, count(*) AS customers FROM cohorts GROUP BY cohort),
last_p AS (SELECT date_trunc($period, CAST($as_of AS TIMESTAMP)) AS lp),
grid AS (
  SELECT z.cohort, z.customers, CAST(k AS INTEGER) AS period_number,
         CASE WHEN $period = 'month' THEN z.cohort + to_months(CAST(k AS INTEGER))
              ELSE z.cohort + to_days(CAST(7 * k AS INTEGER)) END AS period
  FROM sizes z CROSS JOIN last_p
       CROSS JOIN unnest(range(0, CASE WHEN $period = 'month' THEN date_diff('month', z.cohort, last_p.lp)
                     ELSE date_diff('day', z.cohort, last_p.lp) // 7 END + 1)) AS t(k)
),
cells AS (
  SELECT c.cohort, a.p AS period, count(*) AS retained
  FROM cohorts c JOIN act a ON a.customer_id = c.customer_id AND a.p >= c.cohort
  GROUP BY c.cohort, a.p
)
SELECT g.cohort, g.period_number, g.period, g.customers,
       coalesce(cells.retained, 0) AS retained,
       CAST(coalesce(cells.retained, 0) AS DOUBLE) / g.customers AS retention,
       (CASE WHEN $period = 'month' THEN g.period + to_months(1) ELSE g.period + to_days(7) END) > $as_of AS incomplete
FROM grid g LEFT JOIN cells USING (cohort, period)
ORDER BY g.cohort, g.period_number
