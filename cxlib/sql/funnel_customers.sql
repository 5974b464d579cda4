-- funnel_customers: each customer's furthest funnel step, kept in the connection's TEMP TABLE
-- cx_funnel_customers so funnel.sql and funnel_dropped.sql read it. PostHog's semantics for the
-- orders 'ordered' | 'strict' | 'any'; retentioneering's (3.x, tooling/funnel/funnel.py) for the
-- funnel types 'open' | 'closed' | 'hybrid'.
-- Parameters: $steps (VARCHAR[][]: the steps in order, each a list of touchpoints any of which fills
--   it), $step_channels (VARCHAR[][]: per step, the channels its events must be on; empty = any
--   channel: PostHog's step = event + property filter, the property here the event's channel), $exclusions (VARCHAR[], may be empty), $window_seconds (DOUBLE, NULL = no limit; always
--   NULL for the retentioneering types), $order (one of the six above), $start (TIMESTAMP or NULL,
--   inclusive), $end (TIMESTAMP or NULL, exclusive), $horizon (TIMESTAMP, the end of the observed
--   data), $by_mode ('none' | 'column' | 'nps' | 'channel'), $attribution ('none' | 'first_touch' |
--   'last_touch' | 'step' | 'all_events': how a customer gets an event channel when $by_mode =
--   'channel', PostHog's breakdown_attribution_type), $attribution_step (INTEGER, 1-based, for 'step'),
--   $count ('customers' | 'totals' | 'trend': the best attempt per unit and period of its step 1),
--   $period ('week' | 'month', used by 'trend').
-- Slots: {segment} a checked customers column (used when $by_mode = 'column'); {kept_customers},
--   {kept_totals}, {kept_trend}: `kept` for the $count asked, an empty `kept` for the others (DuckDB
--   otherwise builds the unused parts' hash tables: about 15% of the query at 10M events).
-- Units: without a channel breakdown a customer is one unit (bv = ''). With one (PostHog, funnel_udf.py
--   _prop_vals and funnel-udf steps.rs): 'first_touch' / 'last_touch' = one unit per customer, valued
--   with the channel of their earliest / latest step or exclusion event in the range, all events
--   used; 'all_events' = one unit per channel of the customer's step events, each using only the
--   events of that channel; 'step' = one unit per channel of the customer's events at step
--   $attribution_step, all events used except that the event filling that step must have that channel.
-- Totals ($count = 'totals', Amplitude's "totals"): per unit, the first kept attempt counts, then
--   each next attempt starting strictly after the previous counted one converted (its last step's
--   time) or its window closed (step 1 + window); with no window only after converting. One output
--   row per counted attempt; $count = 'customers' gives one row per unit (the best attempt).
-- Output (temp table): customer_id, segment, furthest (1..n; NULL for 'open'), is_open (window still
--   open at $horizon and not complete), times (TIMESTAMP[]: when each reached step happened, from
--   the customer's best attempt: the furthest, ties -> the earliest; NULL for 'open' and
--   'hybrid'), reached (BOOLEAN[], per step: the customer counts at that step).
-- Rules (PostHog orders): every occurrence of step 1 starts an attempt; step k+1 is the earliest
--   step-(k+1) event at or after step k's time (same timestamp counts as in order, as in PostHog;
--   one event is never used twice) and at most $window_seconds after the attempt's step 1 (exactly
--   at the limit counts). 'strict': step k+1 must be the customer's very next event
--   (events_ordered.seq + 1). 'any': an attempt starts at any step event; its furthest step is the
--   number of distinct steps seen within the window. An attempt with an exclusion event strictly
--   between its step 1 and its last reached step is discarded.
-- Rules (retentioneering types; no window, no exclusions): t1 = the customer's first step-1 event.
--   Later steps look only at events at or after t1 whose touchpoint is not a step-1 touchpoint.
--   'closed': m2 = the first step-2 event (at or after t1), m(k) = the first step-k event strictly
--   after m(k-1); the customer reaches k while such events exist. 'hybrid': the customer reaches k
--   when they reached k-1 and have a step-k event (at or after t1, in any order). 'open': every
--   customer with a step-k event in the range counts at step k, whatever the order or step 1.
-- Algorithm: 'ordered' follows each attempt step by step (a recursive join, keeping the events it used);
--   'strict' joins each step's event to the customer's next event (seq + 1, an equality join), so it
--   never compares an attempt with all later events; without a breakdown the events need no unit join.
--   Exclusions: one ASOF join finds each attempt's first exclusion event after its step 1.
--   tests/sql/funnel_customers_reference.sql keeps the previous query as the test oracle.
CREATE OR REPLACE TEMP TABLE cx_funnel_customers AS
WITH RECURSIVE
step_channels AS (  -- per step, the channels its events must be on (empty: any)
  SELECT CAST($step_channels AS VARCHAR[][]) AS chs
),
step_list AS (  -- one row per (touchpoint, step); a step that is a set gives a row per touchpoint
  SELECT unnest(s) AS touchpoint, k, (SELECT chs FROM step_channels)[k] AS channels
  FROM (SELECT unnest($steps) AS s, generate_subscripts($steps, 1) AS k)
),
ev0 AS (  -- step events in the date range (a touchpoint used at two steps gives two rows), on the step's channels
  SELECT e.customer_id, e.ts, e.seq, s.k, e.touchpoint, e.channel
  FROM events_ordered e JOIN step_list s ON e.touchpoint = s.touchpoint
   AND (len(s.channels) = 0 OR list_contains(s.channels, e.channel))
  WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
),
xev0 AS (
  SELECT customer_id, ts, seq, channel FROM events_ordered
  WHERE list_contains($exclusions, touchpoint)
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
touch AS (  -- first / last touch: the channel of the customer's earliest / latest step or exclusion event
  SELECT customer_id,
         CASE WHEN $attribution = 'first_touch' THEN arg_min(channel, (ts, seq)) ELSE arg_max(channel, (ts, seq)) END AS bv
  FROM (SELECT customer_id, ts, seq, channel FROM ev0 UNION ALL SELECT * FROM xev0)
  WHERE $attribution IN ('first_touch', 'last_touch') AND channel IS NOT NULL
  GROUP BY customer_id
),
units AS (  -- (customer, breakdown value) units; bv = '' without a channel breakdown
  SELECT DISTINCT customer_id, '' AS bv FROM ev0 WHERE $attribution = 'none'
  UNION ALL
  SELECT customer_id, bv FROM touch
  UNION ALL
  SELECT DISTINCT customer_id, channel FROM ev0
  WHERE ($attribution = 'all_events' OR ($attribution = 'step' AND k = $attribution_step)) AND channel IS NOT NULL
),
ev AS (  -- step events per unit (without a channel breakdown, every customer of ev0 is one unit: no join)
  SELECT customer_id, '' AS bv, ts, seq, k, touchpoint, channel FROM ev0 WHERE $attribution = 'none'
  UNION ALL
  SELECT e.customer_id, u.bv, e.ts, e.seq, e.k, e.touchpoint, e.channel
  FROM ev0 e JOIN units u ON u.customer_id = e.customer_id
  WHERE $attribution <> 'none' AND ($attribution <> 'all_events' OR e.channel = u.bv)
    AND ($attribution <> 'step' OR e.k <> $attribution_step OR e.channel = u.bv)
),
att(customer_id, bv, a_seq, t1, k, tk, used) AS (  -- ordered: one row per step reached
  SELECT customer_id, bv, seq, ts, 1, ts, [seq]
  FROM ev WHERE k = 1 AND $order = 'ordered'
  UNION ALL
  -- the earliest eligible event of the next step (ties on ts: lowest seq); a join + aggregate
  -- runs about twice as fast in DuckDB as the equivalent LATERAL ... ORDER BY ... LIMIT 1
  SELECT a.customer_id, a.bv, a.a_seq, any_value(a.t1), any_value(a.k) + 1, min(e.ts),
         list_append(any_value(a.used), arg_min(e.seq, (e.ts, e.seq)))
  FROM att a
  JOIN (SELECT * FROM ev WHERE $order = 'ordered' AND k > 1) e ON e.customer_id = a.customer_id AND e.bv = a.bv AND e.k = a.k + 1
   AND e.ts >= a.tk AND NOT list_contains(a.used, e.seq)
   AND ($window_seconds IS NULL OR e.ts <= a.t1 + to_seconds($window_seconds))
  GROUP BY a.customer_id, a.bv, a.a_seq
),
strict_att(customer_id, bv, a_seq, t1, k, tk, s) AS (  -- strict: step k+1 is the customer's very next event
  -- (seq + 1), an equality join; it can never be an event the attempt used (their seqs are lower)
  SELECT customer_id, bv, seq, ts, 1, ts, seq FROM ev WHERE k = 1 AND $order = 'strict'
  UNION ALL
  SELECT a.customer_id, a.bv, a.a_seq, a.t1, a.k + 1, e.ts, e.seq
  FROM strict_att a
  JOIN (SELECT * FROM ev WHERE $order = 'strict') e
    ON e.customer_id = a.customer_id AND e.bv = a.bv AND e.k = a.k + 1 AND e.seq = a.s + 1
  WHERE e.ts >= a.tk AND ($window_seconds IS NULL OR e.ts <= a.t1 + to_seconds($window_seconds))
),
any_first AS (  -- any order: first time each step is seen in the window of each starting event
  SELECT a.customer_id, a.bv, a.seq AS a_seq, a.ts AS t1, e.k, min(e.ts) AS first_ts
  FROM (SELECT DISTINCT customer_id, bv, seq, ts FROM ev WHERE $order = 'any') a
  JOIN ev e ON e.customer_id = a.customer_id AND e.bv = a.bv AND e.ts >= a.ts
   AND ($window_seconds IS NULL OR e.ts <= a.ts + to_seconds($window_seconds))
  GROUP BY ALL
),
step_times AS (  -- per attempt and reached step: when (any order: the time the k-th distinct step was seen)
  SELECT customer_id, bv, a_seq, t1, k, tk FROM att
  UNION ALL
  SELECT customer_id, bv, a_seq, t1, k, tk FROM strict_att
  UNION ALL
  SELECT customer_id, bv, a_seq, t1, row_number() OVER (PARTITION BY customer_id, bv, a_seq ORDER BY first_ts, k),
         first_ts
  FROM any_first
),
attempts AS (
  SELECT customer_id, bv, a_seq, t1, max(k) AS furthest, max(tk) AS t_last
  FROM step_times GROUP BY customer_id, bv, a_seq, t1
),
xev AS (  -- exclusion events per unit ('all_events': of the unit's channel only)
  SELECT customer_id, '' AS bv, ts FROM xev0 WHERE $attribution = 'none'
  UNION ALL
  SELECT x.customer_id, u.bv, x.ts
  FROM xev0 x JOIN units u ON u.customer_id = x.customer_id
  WHERE $attribution <> 'none' AND ($attribution <> 'all_events' OR x.channel = u.bv)
),
kept AS MATERIALIZED (  -- attempts with no exclusion event strictly between step 1 and the last reached
                       -- step: the unit's first exclusion event after step 1 (an ASOF join) is not before it
  SELECT * FROM attempts WHERE len($exclusions) = 0
  UNION ALL
  SELECT a.customer_id, a.bv, a.a_seq, a.t1, a.furthest, a.t_last
  FROM (SELECT * FROM attempts WHERE len($exclusions) > 0) a
  ASOF LEFT JOIN xev x ON x.customer_id = a.customer_id AND x.bv = a.bv AND x.ts > a.t1
  WHERE x.ts IS NULL OR x.ts >= a.t_last
),
best AS (
  SELECT customer_id, bv,
         max(furthest) AS furthest,
         arg_min(a_seq, (-furthest, t1, a_seq)) AS best_seq,
         bool_or($window_seconds IS NOT NULL AND t1 + to_seconds($window_seconds) > $horizon) AS any_open
  FROM {kept_customers} WHERE $count = 'customers' GROUP BY customer_id, bv
),
chain(customer_id, bv, a_seq, t1, furthest, t_end) AS (  -- totals: the attempts that count, in time order
  SELECT customer_id, bv, arg_min(a_seq, (t1, a_seq)), min(t1), arg_min(furthest, (t1, a_seq)),
         arg_min(CASE WHEN furthest = len($steps) THEN t_last
                      WHEN $window_seconds IS NULL THEN NULL ELSE t1 + to_seconds($window_seconds) END, (t1, a_seq))
  FROM {kept_totals} WHERE $count = 'totals' GROUP BY customer_id, bv
  UNION ALL
  SELECT c.customer_id, c.bv, arg_min(k.a_seq, (k.t1, k.a_seq)), min(k.t1), arg_min(k.furthest, (k.t1, k.a_seq)),
         arg_min(CASE WHEN k.furthest = len($steps) THEN k.t_last
                      WHEN $window_seconds IS NULL THEN NULL ELSE k.t1 + to_seconds($window_seconds) END, (k.t1, k.a_seq))
  FROM chain c JOIN {kept_totals} k ON k.customer_id = c.customer_id AND k.bv = c.bv AND c.t_end IS NOT NULL AND k.t1 > c.t_end
  GROUP BY c.customer_id, c.bv
),
best_period AS (  -- trend: per unit and period of step 1 (PostHog funnel trends), the best attempt entering then
  SELECT customer_id, bv, date_trunc($period, t1) AS period,
         max(furthest) AS furthest,
         arg_min(a_seq, (-furthest, t1, a_seq)) AS best_seq,
         bool_or($window_seconds IS NOT NULL AND t1 + to_seconds($window_seconds) > $horizon) AS any_open
  FROM {kept_trend} WHERE $count = 'trend' GROUP BY ALL
),
picked AS (  -- the attempts reported: the best per unit, every counted attempt (totals), the best per period (trend)
  SELECT customer_id, bv, best_seq AS a_seq, furthest,
         furthest < len($steps) AND any_open AS is_open
  FROM best
  UNION ALL
  SELECT customer_id, bv, a_seq, furthest,
         furthest < len($steps) AND $window_seconds IS NOT NULL AND t1 + to_seconds($window_seconds) > $horizon
  FROM chain
  UNION ALL
  SELECT customer_id, bv, best_seq, furthest, furthest < len($steps) AND any_open FROM best_period
),
posthog AS (
  SELECT p.customer_id, p.bv, p.a_seq, any_value(p.furthest) AS furthest, any_value(p.is_open) AS is_open,
         list(s.tk ORDER BY s.k) AS times
  FROM picked p JOIN step_times s ON s.customer_id = p.customer_id AND s.bv = p.bv AND s.a_seq = p.a_seq
  GROUP BY p.customer_id, p.bv, p.a_seq
),
r_t1 AS (  -- closed / hybrid: the customer's first step-1 event
  SELECT customer_id, min(ts) AS t1 FROM ev WHERE k = 1 AND $order IN ('closed', 'hybrid') GROUP BY customer_id
),
r_ev AS (  -- closed / hybrid: later-step events at or after t1; events that would fill step 1 dropped (as
           -- retentioneering drops step-1 touchpoints; with a channel filter on step 1, only that channel's)
  SELECT e.customer_id, e.ts, e.k
  FROM ev e JOIN r_t1 t ON t.customer_id = e.customer_id
  WHERE e.k > 1 AND e.ts >= t.t1
    AND NOT (list_contains($steps[1], e.touchpoint)
             AND (len((SELECT chs FROM step_channels)[1]) = 0 OR list_contains((SELECT chs FROM step_channels)[1], e.channel)))
),
r_closed(customer_id, k, tk) AS (  -- closed: step 2 at or after t1, each later step strictly after the previous
  SELECT customer_id, 1, t1 FROM r_t1 WHERE $order = 'closed'
  UNION ALL
  SELECT c.customer_id, any_value(c.k) + 1, min(e.ts)
  FROM r_closed c
  JOIN r_ev e ON e.customer_id = c.customer_id AND e.k = c.k + 1 AND (e.ts > c.tk OR (c.k = 1 AND e.ts >= c.tk))
  GROUP BY c.customer_id
),
r_hits AS (  -- hybrid: the later steps each customer has at or after t1, numbered in step order
  SELECT customer_id, k, row_number() OVER (PARTITION BY customer_id ORDER BY k) AS rn
  FROM (SELECT DISTINCT customer_id, k FROM r_ev WHERE $order = 'hybrid')
),
r_open AS (  -- open: the steps each customer has, in any order
  SELECT customer_id, list(DISTINCT k) AS ks FROM ev WHERE $order = 'open' GROUP BY customer_id
),
results AS (
  SELECT customer_id, bv, furthest, is_open, times,
         list_transform(range(1, len($steps) + 1), lambda x: x <= furthest) AS reached
  FROM posthog
  UNION ALL
  SELECT customer_id, '', max(k), false, list(tk ORDER BY k),
         list_transform(range(1, len($steps) + 1), lambda x: x <= max(k))
  FROM r_closed GROUP BY customer_id
  UNION ALL
  SELECT customer_id, '', furthest, false, CAST(NULL AS TIMESTAMP[]),
         list_transform(range(1, len($steps) + 1), lambda x: x <= furthest)
  FROM (  -- furthest = 1 + the run of consecutive steps 2, 3, ... (k - rn = 1 until the first gap)
    SELECT t.customer_id, 1 + count(h.k) FILTER (WHERE h.k - h.rn = 1) AS furthest
    FROM r_t1 t LEFT JOIN r_hits h ON h.customer_id = t.customer_id
    WHERE $order = 'hybrid' GROUP BY t.customer_id
  )
  UNION ALL
  SELECT customer_id, '', CAST(NULL AS BIGINT), false, CAST(NULL AS TIMESTAMP[]),
         list_transform(range(1, len($steps) + 1), lambda x: list_contains(ks, x))
  FROM r_open
),
rel_nps AS (  -- latest relationship NPS answer (blank touchpoint); ties on ts -> response_id
  SELECT customer_id, arg_max(score, (ts, response_id)) AS score
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND ts <= $horizon
  GROUP BY customer_id
)
SELECT b.customer_id,
       CASE $by_mode
         WHEN 'none' THEN 'all'
         WHEN 'channel' THEN b.bv
         WHEN 'nps' THEN CASE WHEN r.score IS NULL THEN 'no_response' WHEN r.score >= 9 THEN 'promoter'
                              WHEN r.score >= 7 THEN 'passive' ELSE 'detractor' END
         ELSE coalesce(CAST(c.{segment} AS VARCHAR), '(none)')
       END AS segment,
       b.furthest,
       b.is_open,
       b.times,
       b.reached
FROM results b
LEFT JOIN customers c ON c.customer_id = b.customer_id
LEFT JOIN rel_nps r ON r.customer_id = b.customer_id
