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
-- Method: one time-ordered stream per customer of what becomes known (answers, long tickets,
--   resolutions, switches) and of the cut moments; running totals over it give, at each cut, what
--   is known up to and including that moment (at one moment, what becomes known sorts before the
--   cut; answers at one moment by response_id, so the latest is the last, as arg_max by (ts, id)).
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
  SELECT customer_id, coalesce(contacts, 1) AS contacts,
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
stream AS (
  SELECT * FROM (
    SELECT customer_id, t, true AS cut, NULL::INTEGER AS score, NULL::VARCHAR AS response_id,
           0 AS long_n, 0 AS contacts, 0 AS switches FROM pts
    UNION ALL SELECT customer_id, ts, false, score, response_id, 0, 0, 0 FROM nps
    UNION ALL SELECT customer_id, long_at, false, NULL, NULL, 1, 0, 0 FROM tk WHERE long_at IS NOT NULL
    UNION ALL SELECT customer_id, resolved_at, false, NULL, NULL, 0, contacts, 0 FROM tk WHERE resolved_at IS NOT NULL
    UNION ALL SELECT customer_id, ts, false, NULL, NULL, 0, 0, 1 FROM sw
  ) WHERE customer_id IN (SELECT customer_id FROM s)
),
known AS (
  SELECT customer_id, t, cut,
         last_value(score IGNORE NULLS) OVER w AS score,
         sum(long_n) OVER w > 0 AS long_resolution,
         sum(contacts) OVER w AS ticket_contacts,
         CAST(sum(switches) OVER w AS BIGINT) AS channel_switches
  FROM stream
  WINDOW w AS (PARTITION BY customer_id ORDER BY t, cut, response_id ROWS UNBOUNDED PRECEDING)
),
iv AS (
  SELECT k.*, s.start, s.stop, s.churned, k.t AS t0,
         lead(k.t) OVER (PARTITION BY k.customer_id ORDER BY k.t) AS t1
  FROM known k JOIN s USING (customer_id)
  WHERE k.cut AND k.t >= s.start AND k.t <= s.stop
)
SELECT customer_id,
       epoch(t0 - start) / 86400.0 AS start_day,
       epoch(t1 - start) / 86400.0 AS stop_day,
       churned AND t1 = stop AS event,
       CASE WHEN score >= 9 THEN 'promoter' WHEN score >= 7 THEN 'passive' WHEN score IS NOT NULL THEN 'detractor'
            ELSE 'no_answer' END AS nps_group,
       long_resolution,
       ticket_contacts,
       channel_switches
FROM iv
WHERE t1 IS NOT NULL
ORDER BY customer_id, start_day
