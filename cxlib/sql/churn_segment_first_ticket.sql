-- churn_segment_first_ticket: was the customer's first ticket resolved within 72 hours?
-- Parameters: $as_of (TIMESTAMP): a ticket not resolved by then counts as unresolved.
-- Output: customer_id, segment ('over 72 hours': resolved after 72 hours, or still open 72
--   hours after opening; 'within 72 hours'; NULL while an open ticket is younger than 72 hours).
--   Customers without a ticket have no row. Ties on opened_at are broken by ticket_id.
WITH first AS (
  SELECT customer_id, opened_at,
         CASE WHEN resolved_at <= $as_of THEN resolved_at END AS resolved_at,
         row_number() OVER (PARTITION BY customer_id ORDER BY opened_at, ticket_id) AS k
  FROM tickets WHERE opened_at <= $as_of
)
SELECT customer_id,
       CASE WHEN resolved_at > opened_at + INTERVAL 72 HOUR THEN 'over 72 hours'
            WHEN resolved_at IS NOT NULL THEN 'within 72 hours'
            WHEN opened_at + INTERVAL 72 HOUR <= $as_of THEN 'over 72 hours' END AS segment
FROM first WHERE k = 1
