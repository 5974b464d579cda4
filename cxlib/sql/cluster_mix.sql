-- cluster_mix: per customer signed up by $as_of, the share of their events on each channel
--   and on each journey stage (events up to $as_of), the long input of behavioural clustering.
-- Parameters: $as_of (TIMESTAMP).
-- Output: customer_id, kind ('channel' | 'stage'), value, share (0..1 of the customer's events)
WITH ev AS (
  SELECT e.customer_id, e.channel, e.stage
  FROM events_ordered e JOIN customers c ON c.customer_id = e.customer_id
  WHERE e.ts <= $as_of AND c.signup_at <= $as_of
),
tot AS (SELECT customer_id, count(*) AS n FROM ev GROUP BY customer_id)
SELECT ev.customer_id, 'channel' AS kind, ev.channel AS value, count(*) / any_value(tot.n) AS share
FROM ev JOIN tot USING (customer_id) GROUP BY ev.customer_id, ev.channel
UNION ALL
SELECT ev.customer_id, 'stage' AS kind, ev.stage AS value, count(*) / any_value(tot.n) AS share
FROM ev JOIN tot USING (customer_id) GROUP BY ev.customer_id, ev.stage
ORDER BY 1, 2, 3
