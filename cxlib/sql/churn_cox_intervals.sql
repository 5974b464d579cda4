-- churn_cox_intervals: each customer's follow-up cut into intervals at every moment a CX
-- covariate changes (counting-process rows for a time-varying Cox model).
-- Parameters: those of the status slot, plus $as_of (TIMESTAMP).
-- Slots: status: a churn_status_* query.
-- Change moments: a relationship NPS answer, a ticket reaching 72 hours unresolved (it is then
--   known to be long), a ticket resolved (its contacts are then known). The covariates of an
--   interval are those known at its start, so no row uses information from its own future.
-- Output: customer_id, start_day, stop_day (days since the customer's start), event (churned at
--   stop_day), nps_group (latest relationship answer so far: promoter 9-10, passive 7-8,
--   detractor 0-6, or 'no_answer'), long_resolution (a ticket has taken more than 72 hours),
--   ticket_contacts (contacts of the tickets resolved so far), channel_switches (consecutive
--   events less than a day apart on different channels so far; updated at the change moments).
--   Customers with no follow-up time (churned at their start) have no rows.
WITH s AS (
  SELECT customer_id, start, churned,
         start + to_microseconds(CAST(round(duration_days * 86400000000) AS BIGINT)) AS stop
  FROM {status}
  WHERE duration_days > 0
),
nps AS (
  SELECT customer_id, ts, score, response_id FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND ts <= $as_of
),
tk AS (
  SELECT customer_id, opened_at, coalesce(contacts, 1) AS contacts,
         CASE WHEN resolved_at <= $as_of THEN resolved_at END AS resolved_at,
         CASE WHEN (resolved_at IS NULL OR resolved_at > $as_of OR resolved_at > opened_at + INTERVAL 72 HOUR)
                   AND opened_at + INTERVAL 72 HOUR <= $as_of
              THEN opened_at + INTERVAL 72 HOUR END AS long_at
  FROM tickets WHERE opened_at <= $as_of
),
sw AS (
  SELECT customer_id, ts FROM events_ordered
  WHERE ts <= $as_of AND prev_channel IS NOT NULL AND channel <> prev_channel AND ts - prev_ts <= INTERVAL 1 DAY
),
pts AS (
  SELECT customer_id, start AS t FROM s
  UNION SELECT customer_id, stop FROM s
  UNION SELECT customer_id, ts FROM nps
  UNION SELECT customer_id, long_at FROM tk WHERE long_at IS NOT NULL
  UNION SELECT customer_id, resolved_at FROM tk WHERE resolved_at IS NOT NULL
),
iv AS (
  SELECT p.customer_id, s.start, s.stop, s.churned, p.t AS t0,
         lead(p.t) OVER (PARTITION BY p.customer_id ORDER BY p.t) AS t1
  FROM pts p JOIN s USING (customer_id)
  WHERE p.t >= s.start AND p.t <= s.stop
)
SELECT iv.customer_id,
       epoch(iv.t0 - iv.start) / 86400.0 AS start_day,
       epoch(iv.t1 - iv.start) / 86400.0 AS stop_day,
       iv.churned AND iv.t1 = iv.stop AS event,
       coalesce((SELECT CASE WHEN arg_max(n.score, (n.ts, n.response_id)) >= 9 THEN 'promoter'
                             WHEN arg_max(n.score, (n.ts, n.response_id)) >= 7 THEN 'passive'
                             ELSE 'detractor' END
                 FROM nps n WHERE n.customer_id = iv.customer_id AND n.ts <= iv.t0
                 HAVING count(*) > 0), 'no_answer') AS nps_group,
       EXISTS (SELECT 1 FROM tk WHERE tk.customer_id = iv.customer_id AND tk.long_at <= iv.t0) AS long_resolution,
       (SELECT coalesce(sum(tk.contacts), 0) FROM tk
         WHERE tk.customer_id = iv.customer_id AND tk.resolved_at <= iv.t0) AS ticket_contacts,
       (SELECT count(*) FROM sw WHERE sw.customer_id = iv.customer_id AND sw.ts <= iv.t0) AS channel_switches
FROM iv
WHERE iv.t1 IS NOT NULL
ORDER BY iv.customer_id, start_day
