-- nps_group_at: each anchored customer's relationship NPS group AT THE TIME OF THEIR JOURNEY, kept in
-- the connection's TEMP TABLE cx_nps_groups for the journey queries to join.
-- Rule: relationship answers (metric 'nps', blank touchpoint, a score) given at or before $horizon.
--   The answer given last at or before the customer's anchor time (ties on ts -> the highest
--   response_id); a customer with none before uses the first answer after it (ties -> the lowest
--   response_id; nps_timing says 'after'); none at all: 'no_response' (nps_timing 'none').
--   The anchor is the caller's (a funnel's step-1 time); where it is NULL, the customer's first event
--   in $start..$end; where there is none either, $horizon (the latest answer, as before).
-- Slots: {anchors} a query of ours (cxlib/analysis/journey/common.py, NPS_ANCHORS) giving one row per
--   customer: customer_id, anchor_ts (TIMESTAMP or NULL).
-- Parameters: $horizon (TIMESTAMP), $start, $end (TIMESTAMP or NULL; inclusive / exclusive).
-- Output (temp table): customer_id, anchor_ts, nps_score, nps_answered_at, nps_timing ('before' |
--   'after' | 'none'), nps_group ('promoter' 9-10 | 'passive' 7-8 | 'detractor' 0-6 | 'no_response')
CREATE OR REPLACE TEMP TABLE cx_nps_groups AS
WITH given AS ({anchors}),
journey_start AS (
  SELECT customer_id, min(ts) AS first_ts FROM events_ordered
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  GROUP BY customer_id
),
anchored AS (
  SELECT g.customer_id, coalesce(g.anchor_ts, j.first_ts, CAST($horizon AS TIMESTAMP)) AS anchor_ts
  FROM given g LEFT JOIN journey_start j USING (customer_id)
),
answers AS (
  SELECT customer_id, ts, response_id, score
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND score IS NOT NULL AND ts <= $horizon
),
picked AS (
  SELECT a.customer_id,
         arg_max(r.score, (r.ts, r.response_id)) FILTER (WHERE r.ts <= a.anchor_ts) AS before_score,
         max(r.ts) FILTER (WHERE r.ts <= a.anchor_ts) AS before_ts,
         arg_min(r.score, (r.ts, r.response_id)) FILTER (WHERE r.ts > a.anchor_ts) AS after_score,
         min(r.ts) FILTER (WHERE r.ts > a.anchor_ts) AS after_ts
  FROM anchored a JOIN answers r USING (customer_id)
  GROUP BY a.customer_id
),
chosen AS (
  SELECT a.customer_id, a.anchor_ts,
         coalesce(p.before_score, p.after_score) AS nps_score,
         CASE WHEN p.before_ts IS NOT NULL THEN p.before_ts ELSE p.after_ts END AS nps_answered_at,
         CASE WHEN p.before_ts IS NOT NULL THEN 'before' WHEN p.after_ts IS NOT NULL THEN 'after'
              ELSE 'none' END AS nps_timing
  FROM anchored a LEFT JOIN picked p USING (customer_id)
)
SELECT customer_id, anchor_ts, nps_score, nps_answered_at, nps_timing,
       CASE WHEN nps_score IS NULL THEN 'no_response' WHEN nps_score >= 9 THEN 'promoter'
            WHEN nps_score >= 7 THEN 'passive' ELSE 'detractor' END AS nps_group
FROM chosen
