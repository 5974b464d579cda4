-- churn_status_contractual: per customer with a subscription, contractual churn at $as_of.
-- Parameters: $as_of (TIMESTAMP): only subscriptions started by then count; an end after it
--   is treated as still running.
-- Output: customer_id, start (first subscription start), "end" (churn date: the last
--   subscription end when every subscription has ended by $as_of, else NULL), last_activity
--   (latest event or order at or before $as_of, NULL if none), churned, censored (NOT churned:
--   still subscribed, censored at $as_of), judged (always true: a subscription end is observed
--   directly), duration_days (start to "end", or to $as_of when censored).
-- A customer with a gap between two subscriptions is not churned while a later one runs.
WITH contract_subs AS (
  SELECT customer_id,
         min(started_at) AS start,
         bool_and(ended_at IS NOT NULL AND ended_at <= $as_of) AS all_ended,
         max(ended_at) FILTER (WHERE ended_at <= $as_of) AS last_end
  FROM subscriptions
  WHERE started_at <= $as_of
  GROUP BY customer_id
),
contract_activity AS (
  SELECT customer_id, max(ts) AS last_ts FROM (
    SELECT customer_id, ts FROM events WHERE ts <= $as_of
    UNION ALL
    SELECT customer_id, ts FROM orders WHERE ts <= $as_of
  ) GROUP BY customer_id
)
SELECT s.customer_id,
       s.start,
       CASE WHEN s.all_ended THEN s.last_end END AS "end",
       act.last_ts AS last_activity,
       s.all_ended AS churned,
       NOT s.all_ended AS censored,
       true AS judged,
       epoch(CASE WHEN s.all_ended THEN s.last_end ELSE $as_of END - s.start) / 86400.0 AS duration_days
FROM contract_subs s LEFT JOIN contract_activity act USING (customer_id)
ORDER BY s.customer_id
