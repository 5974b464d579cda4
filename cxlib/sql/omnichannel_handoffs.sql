-- omnichannel_handoffs: service contacts handed off to another channel, and what followed.
-- A service contact is an event whose touchpoint is in $contacts. A hand-off is a contact whose
-- customer's next contact is on a different channel at most $within_seconds later (exactly at
-- the limit counts). Each hand-off is one case (from = first contact, to = the next); a contact
-- that is neither the start nor the end of a hand-off is a case of its own with to = '(none)'.
-- Outcomes are measured after the case's last contact t_end, over (t_end, t_end + $repeat_seconds]
-- (repeat contacts) and [case start, t_end + $repeat_seconds] (CES answers, tickets opened);
-- only cases whose follow-up window has ended by $horizon count (the rest are censored).
-- Parameters: $contacts (VARCHAR[]), $within_seconds, $repeat_seconds (DOUBLE), $start, $end
--   (TIMESTAMP or NULL; inclusive / exclusive), $horizon (TIMESTAMP).
-- Output: from_touchpoint, to_touchpoint, handoff (bool), cases, customers, repeat_rate (share of
--   cases with at least one repeat contact), repeat_contacts (mean count), ces_n, ces (mean),
--   tickets (cases with a ticket opened), ticket_contacts (mean contacts over cases with a ticket),
--   repeated (cases with a repeat contact) and, over the customers of the row with c cases of which
--   r repeated, repeat_rr = sum(r*r), repeat_rc = sum(r*c), repeat_cc = sum(c*c): the sums the
--   repeat rate's customer-clustered interval needs (cxlib/analysis/journey/omnichannel.py)
WITH c AS (
  SELECT customer_id, ts, touchpoint, channel,
         lead(ts) OVER w AS next_ts, lead(touchpoint) OVER w AS next_tp, lead(channel) OVER w AS next_ch,
         lag(ts) OVER w AS prev_ts, lag(channel) OVER w AS prev_ch
  FROM events_ordered
  WHERE list_contains($contacts, touchpoint)
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  WINDOW w AS (PARTITION BY customer_id ORDER BY seq)
),
flagged AS (
  SELECT *,
         coalesce(next_ch <> channel AND next_ts <= ts + to_seconds($within_seconds), false) AS starts_handoff,
         coalesce(prev_ch <> channel AND ts <= prev_ts + to_seconds($within_seconds), false) AS ends_handoff
  FROM c
),
cases AS (
  SELECT customer_id, ts AS t0, next_ts AS t_end, touchpoint AS from_tp, next_tp AS to_tp, true AS handoff
  FROM flagged WHERE starts_handoff
  UNION ALL
  SELECT customer_id, ts, ts, touchpoint, '(none)', false
  FROM flagged WHERE NOT starts_handoff AND NOT ends_handoff
),
decided AS (
  SELECT * FROM cases WHERE t_end + to_seconds($repeat_seconds) <= $horizon
),
repeats AS (
  SELECT d.customer_id, d.t0, d.t_end, d.from_tp, d.to_tp, count(x.ts) AS n_repeat
  FROM decided d
  LEFT JOIN c x ON x.customer_id = d.customer_id AND x.ts > d.t_end
   AND x.ts <= d.t_end + to_seconds($repeat_seconds)
  GROUP BY ALL
),
ces AS (
  SELECT d.customer_id, d.t0, d.t_end, d.from_tp, d.to_tp, avg(r.score::DOUBLE) AS ces
  FROM decided d
  JOIN survey_responses r ON r.customer_id = d.customer_id AND r.metric = 'ces'
   AND r.ts >= d.t0 AND r.ts <= d.t_end + to_seconds($repeat_seconds)
  GROUP BY ALL
),
tix AS (
  SELECT d.customer_id, d.t0, d.t_end, d.from_tp, d.to_tp, sum(coalesce(t.contacts, 1)) AS contacts
  FROM decided d
  JOIN tickets t ON t.customer_id = d.customer_id
   AND t.opened_at >= d.t0 AND t.opened_at <= d.t_end + to_seconds($repeat_seconds)
  GROUP BY ALL
),
per_customer AS (  -- each customer's cases and cases with a repeat contact, per kind of case
  SELECT d.from_tp, d.to_tp, d.handoff, d.customer_id,
         count(*) AS c, count(*) FILTER (WHERE r.n_repeat > 0) AS r
  FROM decided d
  JOIN repeats r USING (customer_id, t0, t_end, from_tp, to_tp)
  GROUP BY ALL
),
clustered AS (
  SELECT from_tp, to_tp, handoff, sum(r) AS repeated, sum(r * r) AS repeat_rr, sum(r * c) AS repeat_rc,
         sum(c * c) AS repeat_cc
  FROM per_customer
  GROUP BY ALL
),
summary AS (
SELECT d.from_tp AS from_touchpoint, d.to_tp AS to_touchpoint, d.handoff,
       count(*) AS cases,
       count(DISTINCT d.customer_id) AS customers,
       avg(CASE WHEN r.n_repeat > 0 THEN 1 ELSE 0 END) AS repeat_rate,
       avg(r.n_repeat::DOUBLE) AS repeat_contacts,
       count(e.ces) AS ces_n,
       avg(e.ces) AS ces,
       count(t.contacts) AS tickets,
       avg(t.contacts::DOUBLE) AS ticket_contacts
FROM decided d
JOIN repeats r USING (customer_id, t0, t_end, from_tp, to_tp)
LEFT JOIN ces e USING (customer_id, t0, t_end, from_tp, to_tp)
LEFT JOIN tix t USING (customer_id, t0, t_end, from_tp, to_tp)
GROUP BY d.from_tp, d.to_tp, d.handoff
)
SELECT s.*, k.repeated, k.repeat_rr, k.repeat_rc, k.repeat_cc
FROM summary s
JOIN clustered k ON k.from_tp = s.from_touchpoint AND k.to_tp = s.to_touchpoint AND k.handoff = s.handoff
ORDER BY s.handoff DESC, s.repeat_rate DESC, s.from_touchpoint, s.to_touchpoint
