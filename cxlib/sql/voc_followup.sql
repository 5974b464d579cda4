-- voc_followup: detractors to call back (closed loop): customers whose latest relationship NPS
--   answer (metric 'nps', blank touchpoint; ties on ts broken by response_id) is 0-6 and was
--   given in [$since, $as_of], with their recent journey.
-- Parameters: $since (TIMESTAMP), $as_of (TIMESTAMP), $last_n (INTEGER: touchpoints listed)
-- Output: customer_id, responded_at, nps_score, comment, last_touchpoints (oldest first,
--   joined with ' > '), last_channel, last_event_at, open_tickets, last_ticket_category,
--   last_ticket_opened_at
-- arg_max skips rows whose value is NULL on DuckDB, not on Spark (max_by): the FILTERs say so for both
--   (comment: the latest answer's comment, or else the latest comment among the customer's
--   relationship answers).
WITH rel AS (
  SELECT customer_id,
         arg_max(score, (ts, response_id)) AS nps_score,
         arg_max(comment, (ts, response_id)) FILTER (WHERE comment IS NOT NULL) AS comment,
         max(ts) AS responded_at
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND score IS NOT NULL AND ts <= $as_of
  GROUP BY customer_id
),
det AS (
  SELECT * FROM rel WHERE nps_score <= 6 AND responded_at >= $since
),
recent AS (
  SELECT e.customer_id, e.touchpoint, e.channel, e.ts, e.seq,
         row_number() OVER (PARTITION BY e.customer_id ORDER BY e.seq DESC) AS back
  FROM events_ordered e JOIN det USING (customer_id)
  WHERE e.ts <= $as_of
),
journey AS (
  SELECT customer_id,
         string_agg(touchpoint, ' > ' ORDER BY seq) AS last_touchpoints,
         arg_max(channel, seq) FILTER (WHERE channel IS NOT NULL) AS last_channel,
         max(ts) AS last_event_at
  FROM recent WHERE back <= $last_n
  GROUP BY customer_id
),
tik AS (
  SELECT t.customer_id,
         count(*) FILTER (WHERE t.resolved_at IS NULL OR t.resolved_at > $as_of) AS open_tickets,
         arg_max(t.category, (t.opened_at, t.ticket_id)) FILTER (WHERE t.category IS NOT NULL) AS last_ticket_category,
         max(t.opened_at) AS last_ticket_opened_at
  FROM tickets t JOIN det USING (customer_id)
  WHERE t.opened_at <= $as_of
  GROUP BY t.customer_id
)
SELECT det.customer_id, det.responded_at, det.nps_score, det.comment,
       journey.last_touchpoints, journey.last_channel, journey.last_event_at,
       coalesce(tik.open_tickets, 0) AS open_tickets,
       tik.last_ticket_category, tik.last_ticket_opened_at
FROM det
LEFT JOIN journey USING (customer_id)
LEFT JOIN tik USING (customer_id)
ORDER BY det.nps_score, coalesce(tik.open_tickets, 0) DESC, det.responded_at DESC, det.customer_id
