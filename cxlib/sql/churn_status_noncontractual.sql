-- churn_status_noncontractual: per customer, non-contractual churn (inactivity) at $as_of.
-- Parameters: $as_of (TIMESTAMP): only customers who signed up and activity (events, orders)
--   at or before it count; $inactivity_days (INTEGER): days without activity that mean churn.
-- Output: customer_id, start (signup or first activity, whichever is earlier), "end" (churn
--   date = last activity, for churned customers; else NULL), last_activity (latest event or
--   order, or start when there is none), churned (no activity in the $inactivity_days before
--   $as_of), censored (NOT churned; censored at last_activity: if the customer never comes
--   back, the churn date will be that activity, so only "churn date >= last_activity" is
--   known), judged (start at least $inactivity_days before $as_of: enough follow-up to be
--   judged in churn rates), duration_days (start to last_activity).
WITH inactive_activity AS (
  SELECT customer_id, min(ts) AS first_ts, max(ts) AS last_ts FROM (
    SELECT customer_id, ts FROM events WHERE ts <= $as_of
    UNION ALL
    SELECT customer_id, ts FROM orders WHERE ts <= $as_of
  ) GROUP BY customer_id
),
inactive_customers AS (
  SELECT c.customer_id,
         least(c.signup_at, coalesce(act.first_ts, c.signup_at)) AS start,
         greatest(c.signup_at, coalesce(act.last_ts, c.signup_at)) AS last_activity
  FROM customers c LEFT JOIN inactive_activity act USING (customer_id)
  WHERE c.signup_at <= $as_of
)
SELECT customer_id,
       start,
       CASE WHEN last_activity <= $as_of - to_days(CAST($inactivity_days AS INTEGER)) THEN last_activity END AS "end",
       last_activity,
       last_activity <= $as_of - to_days(CAST($inactivity_days AS INTEGER)) AS churned,
       NOT (last_activity <= $as_of - to_days(CAST($inactivity_days AS INTEGER))) AS censored,
       start <= $as_of - to_days(CAST($inactivity_days AS INTEGER)) AS judged,
       epoch(last_activity - start) / 86400.0 AS duration_days
FROM inactive_customers
ORDER BY customer_id
