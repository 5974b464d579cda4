-- churn_status_first_ticket: a churn status re-timed to start when the customer's first ticket
-- reached 72 hours (the moment it is known whether it took longer), a landmark design.
-- Parameters: those of the status slot, plus $as_of (TIMESTAMP).
-- Slots: status: a churn_status_* query.
-- Output: the status columns, with start = first ticket's opened_at + 72 hours and
--   duration_days from there; only customers still followed at that moment (their churn or
--   censoring time is later) are kept.
WITH ticket_status AS (SELECT * FROM {status}),
ticket_first AS (
  SELECT customer_id, min(opened_at) + INTERVAL 72 HOUR AS mark
  FROM tickets WHERE opened_at <= $as_of GROUP BY customer_id
)
SELECT s.customer_id, f.mark AS start, s."end", s.last_activity, s.churned, s.censored, s.judged,
       s.duration_days - epoch(f.mark - s.start) / 86400.0 AS duration_days
FROM ticket_status s JOIN ticket_first f USING (customer_id)
WHERE f.mark >= s.start AND epoch(f.mark - s.start) / 86400.0 < s.duration_days
ORDER BY s.customer_id
