-- service_first_contact: first-contact resolution, reopens and contacts per group, over resolved tickets.
-- Parameters: $start, $end, $horizon (as service_resolution).
-- Slots: {grp}: as service_resolution.
-- Output: grp, resolved (tickets resolved by $horizon), judged (resolved tickets with a contact
--   count), one_touch (judged tickets with contacts = 1 and not reopened; a blank reopened counts
--   as not reopened), reopened (resolved tickets with reopened = true), contacts_sum and
--   contacts_sumsq (over judged tickets).
WITH t AS (
  SELECT coalesce(CAST({grp} AS VARCHAR), '(none)') AS grp, t.contacts, coalesce(t.reopened, false) AS reopened
  FROM tickets t
  WHERE t.opened_at <= $horizon
    AND t.resolved_at IS NOT NULL AND t.resolved_at <= $horizon
    AND ($start IS NULL OR t.opened_at >= $start)
    AND ($end IS NULL OR t.opened_at < $end)
)
SELECT grp,
       count(*) AS resolved,
       count(contacts) AS judged,
       count(*) FILTER (WHERE contacts = 1 AND NOT reopened) AS one_touch,
       count(*) FILTER (WHERE reopened) AS reopened,
       coalesce(sum(contacts), 0) AS contacts_sum,
       coalesce(sum(CAST(contacts AS DOUBLE) * contacts), 0) AS contacts_sumsq
FROM t
GROUP BY grp
ORDER BY grp
