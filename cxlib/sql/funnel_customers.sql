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
--   $overlap (BOOLEAN: a touchpoint is in two steps, so one event could fill two steps and the
--   attempts must remember the events they used).
-- Slots: {segment} a checked customers column (used when $by_mode = 'column'); {kept_customers},
--   {kept_totals}, {kept_trend}: what each count reads: `kept` for the $count asked (for 'customers'
--   without exclusions `step_rows`, which needs no grouping per attempt), an empty `kept` for the
--   others (DuckDB otherwise builds the unused parts' hash tables); {key}: the integer customer key
--   `cid` of events_ordered (hashing and joining an integer is about 30% faster than text), or
--   `customer_id` on a store without keys; {keys_join} and {customer}: how a key becomes the
--   customer_id again (a join to customer_keys, or nothing).
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
-- Algorithm: 'ordered' follows each attempt step by step (a recursive join; the events it used are
--   remembered only when steps overlap); 'strict' joins each step's event to the customer's next event
--   (seq + 1, an equality join), so it never compares an attempt with all later events; without a
--   breakdown the events need no unit join. Each attempt carries the list of its step times, so the
--   best attempt's times need no second join. Exclusions: one ASOF join finds each attempt's first
--   exclusion event after its step 1. tests/sql/funnel_customers_reference.sql keeps an earlier query
--   as the test oracle.
CREATE OR REPLACE TEMP TABLE cx_funnel_customers AS
WITH RECURSIVE
step_channels AS (  -- per step, the channels its events must be on (empty: any)
  SELECT CAST($step_channels AS VARCHAR[][]) AS chs
),
step_list AS (  -- one row per (touchpoint, step); a step that is a set gives a row per touchpoint
  SELECT unnest(s) AS touchpoint, k, (SELECT chs FROM step_channels)[k] AS channels
  FROM (SELECT unnest($steps) AS s, generate_subscripts($steps, 1) AS k)
),
ev0 AS (  -- step events in the date range (a touchpoint used at two steps gives two rows), on the step's channels;
          -- fills_first: the event would fill step 1 (for the retentioneering types, which drop such events later)
  SELECT e.{key} AS cid, e.ts, e.seq, s.k, e.channel,
         list_contains($steps[1], e.touchpoint)
           AND (len((SELECT chs FROM step_channels)[1]) = 0 OR list_contains((SELECT chs FROM step_channels)[1], e.channel))
           AS fills_first
  FROM events_ordered e JOIN step_list s ON e.touchpoint = s.touchpoint
   AND (len(s.channels) = 0 OR list_contains(s.channels, e.channel))
  WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
),
xev0 AS (
  SELECT {key} AS cid, ts, seq, channel FROM events_ordered
  WHERE list_contains($exclusions, touchpoint)
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
touch AS (  -- first / last touch: the channel of the customer's earliest / latest step or exclusion event
  SELECT cid,
         CASE WHEN $attribution = 'first_touch' THEN arg_min(channel, (ts, seq)) ELSE arg_max(channel, (ts, seq)) END AS bv
  FROM (SELECT cid, ts, seq, channel FROM ev0 UNION ALL SELECT * FROM xev0)
  WHERE $attribution IN ('first_touch', 'last_touch') AND channel IS NOT NULL
  GROUP BY cid
),
units AS (  -- (customer, breakdown value) units; bv = '' without a channel breakdown
  SELECT DISTINCT cid, '' AS bv FROM ev0 WHERE $attribution = 'none'
  UNION ALL
  SELECT cid, bv FROM touch
  UNION ALL
  SELECT DISTINCT cid, channel FROM ev0
  WHERE ($attribution = 'all_events' OR ($attribution = 'step' AND k = $attribution_step)) AND channel IS NOT NULL
),
ev AS (  -- step events per unit (without a channel breakdown, every customer of ev0 is one unit: no join)
  SELECT cid, '' AS bv, ts, seq, k, fills_first FROM ev0 WHERE $attribution = 'none'
  UNION ALL
  SELECT e.cid, u.bv, e.ts, e.seq, e.k, e.fills_first
  FROM ev0 e JOIN units u ON u.cid = e.cid
  WHERE $attribution <> 'none' AND ($attribution <> 'all_events' OR e.channel = u.bv)
    AND ($attribution <> 'step' OR e.k <> $attribution_step OR e.channel = u.bv)
),
att(cid, bv, a_seq, t1, k, tk, times, used) AS (  -- ordered: one row per step reached
  SELECT cid, bv, seq, ts, 1, ts, [ts], CASE WHEN $overlap THEN [seq] END
  FROM ev WHERE k = 1 AND $order = 'ordered'
  UNION ALL
  -- the earliest eligible event of the next step (ties on ts: lowest seq); a join + aggregate
  -- runs about twice as fast in DuckDB as the equivalent LATERAL ... ORDER BY ... LIMIT 1
  SELECT a.cid, a.bv, a.a_seq, any_value(a.t1), any_value(a.k) + 1, min(e.ts),
         list_append(any_value(a.times), min(e.ts)),
         CASE WHEN $overlap THEN list_append(any_value(a.used), arg_min(e.seq, (e.ts, e.seq))) END
  FROM att a
  JOIN (SELECT * FROM ev WHERE $order = 'ordered' AND k > 1) e ON e.cid = a.cid AND e.bv = a.bv AND e.k = a.k + 1
   AND e.ts >= a.tk AND (NOT $overlap OR NOT list_contains(a.used, e.seq))
   AND ($window_seconds IS NULL OR e.ts <= a.t1 + to_seconds($window_seconds))
  GROUP BY a.cid, a.bv, a.a_seq
),
strict_att(cid, bv, a_seq, t1, k, tk, s, times) AS (  -- strict: step k+1 is the customer's very next event
  -- (seq + 1), an equality join; it can never be an event the attempt used (their seqs are lower)
  SELECT cid, bv, seq, ts, 1, ts, seq, [ts] FROM ev WHERE k = 1 AND $order = 'strict'
  UNION ALL
  SELECT a.cid, a.bv, a.a_seq, a.t1, a.k + 1, e.ts, e.seq, list_append(a.times, e.ts)
  FROM strict_att a
  JOIN (SELECT * FROM ev WHERE $order = 'strict') e
    ON e.cid = a.cid AND e.bv = a.bv AND e.k = a.k + 1 AND e.seq = a.s + 1
  WHERE e.ts >= a.tk AND ($window_seconds IS NULL OR e.ts <= a.t1 + to_seconds($window_seconds))
),
any_first AS (  -- any order: first time each step is seen in the window of each starting event
  SELECT a.cid, a.bv, a.seq AS a_seq, a.ts AS t1, e.k, min(e.ts) AS first_ts
  FROM (SELECT DISTINCT cid, bv, seq, ts FROM ev WHERE $order = 'any') a
  JOIN ev e ON e.cid = a.cid AND e.bv = a.bv AND e.ts >= a.ts
   AND ($window_seconds IS NULL OR e.ts <= a.ts + to_seconds($window_seconds))
  GROUP BY ALL
),
step_rows AS (  -- per attempt and reached step, `furthest` = that step, with the times of steps 1..it; any order: one
                -- row per attempt, the k-th time being when the k-th distinct step was seen. The best attempt per
                -- unit (furthest, then earliest) is the same read from these rows or from one row per attempt.
  SELECT cid, bv, a_seq, t1, CAST(k AS BIGINT) AS furthest, tk AS t_last, times FROM att
  UNION ALL
  SELECT cid, bv, a_seq, t1, k, tk, times FROM strict_att
  UNION ALL
  SELECT cid, bv, a_seq, t1, count(*), max(first_ts), list(first_ts ORDER BY first_ts, k)
  FROM any_first GROUP BY cid, bv, a_seq, t1
),
attempts AS (
  SELECT cid, bv, a_seq, t1, max(furthest) AS furthest, max(t_last) AS t_last, arg_max(times, furthest) AS times
  FROM step_rows GROUP BY cid, bv, a_seq, t1
),
xev AS (  -- exclusion events per unit ('all_events': of the unit's channel only)
  SELECT cid, '' AS bv, ts FROM xev0 WHERE $attribution = 'none'
  UNION ALL
  SELECT x.cid, u.bv, x.ts
  FROM xev0 x JOIN units u ON u.cid = x.cid
  WHERE $attribution <> 'none' AND ($attribution <> 'all_events' OR x.channel = u.bv)
),
kept AS MATERIALIZED (  -- attempts with no exclusion event strictly between step 1 and the last reached
                       -- step: the unit's first exclusion event after step 1 (an ASOF join) is not before it
  SELECT * FROM attempts WHERE len($exclusions) = 0
  UNION ALL
  SELECT a.cid, a.bv, a.a_seq, a.t1, a.furthest, a.t_last, a.times
  FROM (SELECT * FROM attempts WHERE len($exclusions) > 0) a
  ASOF LEFT JOIN xev x ON x.cid = a.cid AND x.bv = a.bv AND x.ts > a.t1
  WHERE x.ts IS NULL OR x.ts >= a.t_last
),
best AS (
  SELECT cid, bv,
         max(furthest) AS furthest,
         arg_min(times, (-furthest, t1, a_seq)) AS times,
         bool_or($window_seconds IS NOT NULL AND t1 + to_seconds($window_seconds) > $horizon) AS any_open
  FROM {kept_customers} WHERE $count = 'customers' GROUP BY cid, bv
),
chain(cid, bv, a_seq, t1, furthest, t_end, times) AS (  -- totals: the attempts that count, in time order
  SELECT cid, bv, arg_min(a_seq, (t1, a_seq)), min(t1), arg_min(furthest, (t1, a_seq)),
         arg_min(CASE WHEN furthest = len($steps) THEN t_last
                      WHEN $window_seconds IS NULL THEN NULL ELSE t1 + to_seconds($window_seconds) END, (t1, a_seq)),
         arg_min(times, (t1, a_seq))
  FROM {kept_totals} WHERE $count = 'totals' GROUP BY cid, bv
  UNION ALL
  SELECT c.cid, c.bv, arg_min(k.a_seq, (k.t1, k.a_seq)), min(k.t1), arg_min(k.furthest, (k.t1, k.a_seq)),
         arg_min(CASE WHEN k.furthest = len($steps) THEN k.t_last
                      WHEN $window_seconds IS NULL THEN NULL ELSE k.t1 + to_seconds($window_seconds) END, (k.t1, k.a_seq)),
         arg_min(k.times, (k.t1, k.a_seq))
  FROM chain c JOIN {kept_totals} k ON k.cid = c.cid AND k.bv = c.bv AND c.t_end IS NOT NULL AND k.t1 > c.t_end
  GROUP BY c.cid, c.bv
),
best_period AS (  -- trend: per unit and period of step 1 (PostHog funnel trends), the best attempt entering then
  SELECT cid, bv, date_trunc($period, t1) AS period,
         max(furthest) AS furthest,
         arg_min(times, (-furthest, t1, a_seq)) AS times,
         bool_or($window_seconds IS NOT NULL AND t1 + to_seconds($window_seconds) > $horizon) AS any_open
  FROM {kept_trend} WHERE $count = 'trend' GROUP BY ALL
),
posthog AS (  -- the attempts reported: the best per unit, every counted attempt (totals), the best per period (trend)
  SELECT cid, bv, furthest, furthest < len($steps) AND any_open AS is_open, times
  FROM best
  UNION ALL
  SELECT cid, bv, furthest,
         furthest < len($steps) AND $window_seconds IS NOT NULL AND t1 + to_seconds($window_seconds) > $horizon, times
  FROM chain
  UNION ALL
  SELECT cid, bv, furthest, furthest < len($steps) AND any_open, times FROM best_period
),
r_t1 AS (  -- closed / hybrid: the customer's first step-1 event
  SELECT cid, min(ts) AS t1 FROM ev WHERE k = 1 AND $order IN ('closed', 'hybrid') GROUP BY cid
),
r_ev AS (  -- closed / hybrid: later-step events at or after t1; events that would fill step 1 dropped (as
           -- retentioneering drops step-1 touchpoints; with a channel filter on step 1, only that channel's)
  SELECT e.cid, e.ts, e.k
  FROM ev e JOIN r_t1 t ON t.cid = e.cid
  WHERE e.k > 1 AND e.ts >= t.t1 AND NOT e.fills_first
),
r_closed(cid, k, tk) AS (  -- closed: step 2 at or after t1, each later step strictly after the previous
  SELECT cid, 1, t1 FROM r_t1 WHERE $order = 'closed'
  UNION ALL
  SELECT c.cid, any_value(c.k) + 1, min(e.ts)
  FROM r_closed c
  JOIN r_ev e ON e.cid = c.cid AND e.k = c.k + 1 AND (e.ts > c.tk OR (c.k = 1 AND e.ts >= c.tk))
  GROUP BY c.cid
),
r_hits AS (  -- hybrid: the later steps each customer has at or after t1, numbered in step order
  SELECT cid, k, row_number() OVER (PARTITION BY cid ORDER BY k) AS rn
  FROM (SELECT DISTINCT cid, k FROM r_ev WHERE $order = 'hybrid')
),
r_open AS (  -- open: the steps each customer has, in any order
  SELECT cid, list(DISTINCT k) AS ks FROM ev WHERE $order = 'open' GROUP BY cid
),
results AS (
  SELECT cid, bv, furthest, is_open, times,
         list_transform(range(1, len($steps) + 1), lambda x: x <= furthest) AS reached
  FROM posthog
  UNION ALL
  SELECT cid, '', max(k), false, list(tk ORDER BY k),
         list_transform(range(1, len($steps) + 1), lambda x: x <= max(k))
  FROM r_closed GROUP BY cid
  UNION ALL
  SELECT cid, '', furthest, false, CAST(NULL AS TIMESTAMP[]),
         list_transform(range(1, len($steps) + 1), lambda x: x <= furthest)
  FROM (  -- furthest = 1 + the run of consecutive steps 2, 3, ... (k - rn = 1 until the first gap)
    SELECT t.cid, 1 + count(h.k) FILTER (WHERE h.k - h.rn = 1) AS furthest
    FROM r_t1 t LEFT JOIN r_hits h ON h.cid = t.cid
    WHERE $order = 'hybrid' GROUP BY t.cid
  )
  UNION ALL
  SELECT cid, '', CAST(NULL AS BIGINT), false, CAST(NULL AS TIMESTAMP[]),
         list_transform(range(1, len($steps) + 1), lambda x: list_contains(ks, x))
  FROM r_open
),
rel_nps AS (  -- latest relationship NPS answer (blank touchpoint); ties on ts -> response_id
  SELECT customer_id, arg_max(score, (ts, response_id)) AS score
  FROM survey_responses
  WHERE metric = 'nps' AND touchpoint IS NULL AND ts <= $horizon
  GROUP BY customer_id
)
SELECT {customer} AS customer_id,
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
{keys_join}
LEFT JOIN customers c ON c.customer_id = {customer}
LEFT JOIN rel_nps r ON r.customer_id = {customer}
