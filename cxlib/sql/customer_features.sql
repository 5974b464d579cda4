-- customer_features: one row per customer, CX measures known at $as_of.
-- Parameters: $as_of (TIMESTAMP) — only data at or before it counts.
-- Output: customer_id, signup_at, first_activity, last_activity, events, channels_used,
--   channel_switches, nps_score, nps_group, orders, revenue, last_order_at, tickets,
--   open_tickets, mean_resolution_hours, max_resolution_hours, long_resolution,
--   ticket_contacts, reopened_tickets
WITH ev AS (
  SELECT customer_id,
         min(ts) AS first_activity,
         max(ts) AS last_activity,
         count(*) AS events,
         count(DISTINCT channel) AS channels_used,
         count(*) FILTER (WHERE prev_channel IS NOT NULL AND channel <> prev_channel
                            AND ts - prev_ts <= INTERVAL 1 DAY) AS channel_switches
  FROM events_ordered
  WHERE ts <= $as_of
  GROUP BY customer_id
),
rel AS (  -- latest relationship NPS (touchpoint blank); ties on ts broken by response_id
  SELECT customer_id, arg_max(score, (ts, response_id)) AS nps_score
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND ts <= $as_of
  GROUP BY customer_id
),
ord AS (
  SELECT customer_id, count(*) AS orders, sum(amount) AS revenue, max(ts) AS last_order_at
  FROM orders WHERE ts <= $as_of GROUP BY customer_id
),
tik AS (
  SELECT customer_id,
         count(*) AS tickets,
         count(*) FILTER (WHERE resolved_at IS NULL OR resolved_at > $as_of) AS open_tickets,
         avg(date_diff('second', opened_at, resolved_at) / 3600.0)
           FILTER (WHERE resolved_at <= $as_of) AS mean_resolution_hours,
         max(date_diff('second', opened_at, resolved_at) / 3600.0)
           FILTER (WHERE resolved_at <= $as_of) AS max_resolution_hours,
         coalesce(sum(contacts), 0)::BIGINT AS ticket_contacts,
         count(*) FILTER (WHERE reopened) AS reopened_tickets
  FROM tickets WHERE opened_at <= $as_of GROUP BY customer_id
)
SELECT c.customer_id, c.signup_at,
       ev.first_activity, ev.last_activity,
       coalesce(ev.events, 0) AS events,
       coalesce(ev.channels_used, 0) AS channels_used,
       coalesce(ev.channel_switches, 0) AS channel_switches,
       rel.nps_score,
       CASE WHEN rel.nps_score >= 9 THEN 'promoter'
            WHEN rel.nps_score >= 7 THEN 'passive'
            WHEN rel.nps_score >= 0 THEN 'detractor' END AS nps_group,
       coalesce(ord.orders, 0) AS orders,
       coalesce(ord.revenue, 0) AS revenue,
       ord.last_order_at,
       coalesce(tik.tickets, 0) AS tickets,
       coalesce(tik.open_tickets, 0) AS open_tickets,
       tik.mean_resolution_hours,
       tik.max_resolution_hours,
       coalesce(tik.max_resolution_hours > 72, false) AS long_resolution,
       coalesce(tik.ticket_contacts, 0) AS ticket_contacts,
       coalesce(tik.reopened_tickets, 0) AS reopened_tickets
FROM customers c
LEFT JOIN ev USING (customer_id)
LEFT JOIN rel USING (customer_id)
LEFT JOIN ord USING (customer_id)
LEFT JOIN tik USING (customer_id)
WHERE c.signup_at <= $as_of
ORDER BY c.customer_id
