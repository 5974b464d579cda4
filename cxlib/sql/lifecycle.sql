-- lifecycle: customers per period by lifecycle status (PostHog's lifecycle semantics).
-- Parameters: $period ('month' | 'week'), $as_of (TIMESTAMP: activity after it is ignored).
-- Activity = events and orders. Statuses of a customer in period P:
--   new: first ever active in P; returning: active in P and in the period before;
--   resurrecting: active in P, not in the period before, but active at some earlier period;
--   dormant: active in the period before, not in P.
-- Slots: {activity}: the (customer_id, p) pairs active at or before $as_of, one row each: from the
--   table customer_activity (customer_id is then the integer key cid), or computed from events and
--   orders (a filtered store, or a store without the table); see cxlib/analysis/churn/retention.py.
-- Output: period, status, customers, incomplete (the period ends after $as_of)
WITH act AS ({activity}),
marked AS (
  SELECT customer_id, p,
         min(p) OVER (PARTITION BY customer_id) AS first_p,
         lag(p) OVER (PARTITION BY customer_id ORDER BY p) AS prev_p,
         lead(p) OVER (PARTITION BY customer_id ORDER BY p) AS next_p,
         CASE WHEN $period = 'month' THEN p - to_months(1) ELSE p - to_days(7) END AS p_before,
         CASE WHEN $period = 'month' THEN p + to_months(1) ELSE p + to_days(7) END AS p_after
  FROM act
),
statuses AS (
  SELECT p AS period,
         CASE WHEN p = first_p THEN 'new'
              WHEN prev_p = p_before THEN 'returning'
              ELSE 'resurrecting' END AS status
  FROM marked
  UNION ALL
  SELECT p_after AS period, 'dormant' AS status
  FROM marked
  WHERE (next_p IS NULL OR next_p <> p_after) AND p_after <= $as_of
),
counts AS (SELECT period, status, count(*) AS customers FROM statuses GROUP BY ALL),
periods AS (SELECT DISTINCT period FROM statuses),
grid AS (
  SELECT period, status FROM periods,
       (VALUES ('new'), ('returning'), ('resurrecting'), ('dormant')) AS s(status)
)
SELECT g.period, g.status, coalesce(c.customers, 0) AS customers,
       (CASE WHEN $period = 'month' THEN g.period + to_months(1) ELSE g.period + to_days(7) END) > $as_of AS incomplete
FROM grid g LEFT JOIN counts c USING (period, status)
ORDER BY g.period, CASE g.status WHEN 'new' THEN 1 WHEN 'returning' THEN 2 WHEN 'resurrecting' THEN 3 ELSE 4 END
