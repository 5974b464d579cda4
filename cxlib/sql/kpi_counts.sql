-- kpi_counts: the headline counts of one period, for the KPI tiles at the top of a report.
-- Parameters: $start (TIMESTAMP, inclusive), $end (TIMESTAMP, exclusive).
-- Output: one row: active_customers (distinct customers with an event, survey answer, order or
--   ticket opened in the period), event_customers (customers with an event), responses (survey
--   answers of any metric), respondents (customers who answered), orders, order_customers
--   (customers with an order), revenue (sum of order amounts; NULL without orders), tickets (opened),
--   ticket_customers, active_subscriptions (subscriptions running at the end of the period: started
--   before $end, not ended before it), subscribers (customers with such a subscription), first_seen
--   (the store's first dated activity of any period: events, answers, orders, tickets opened,
--   subscriptions started; NULL in an empty store).
WITH activity AS (
  SELECT customer_id FROM events WHERE ts >= $start AND ts < $end
  UNION ALL SELECT customer_id FROM survey_responses WHERE ts >= $start AND ts < $end
  UNION ALL SELECT customer_id FROM orders WHERE ts >= $start AND ts < $end
  UNION ALL SELECT customer_id FROM tickets WHERE opened_at >= $start AND opened_at < $end
),
running AS (
  SELECT customer_id FROM subscriptions
  WHERE started_at < $end AND (ended_at IS NULL OR ended_at >= $end)
)
SELECT
  (SELECT count(DISTINCT customer_id) FROM activity) AS active_customers,
  (SELECT count(DISTINCT customer_id) FROM events WHERE ts >= $start AND ts < $end) AS event_customers,
  (SELECT count(*) FROM survey_responses WHERE ts >= $start AND ts < $end) AS responses,
  (SELECT count(DISTINCT customer_id) FROM survey_responses WHERE ts >= $start AND ts < $end) AS respondents,
  (SELECT count(*) FROM orders WHERE ts >= $start AND ts < $end) AS orders,
  (SELECT count(DISTINCT customer_id) FROM orders WHERE ts >= $start AND ts < $end) AS order_customers,
  (SELECT sum(amount) FROM orders WHERE ts >= $start AND ts < $end) AS revenue,
  (SELECT count(*) FROM tickets WHERE opened_at >= $start AND opened_at < $end) AS tickets,
  (SELECT count(DISTINCT customer_id) FROM tickets WHERE opened_at >= $start AND opened_at < $end) AS ticket_customers,
  (SELECT count(*) FROM running) AS active_subscriptions,
  (SELECT count(DISTINCT customer_id) FROM running) AS subscribers,
  least((SELECT min(ts) FROM events), (SELECT min(ts) FROM survey_responses), (SELECT min(ts) FROM orders),
        (SELECT min(opened_at) FROM tickets), (SELECT min(started_at) FROM subscriptions)) AS first_seen
