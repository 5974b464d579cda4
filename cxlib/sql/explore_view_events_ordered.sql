-- explore_view_events_ordered: events_ordered rebuilt over the filtered events only, so that seq,
--   prev_* and next_* describe the filtered journey (same tie-break as the stored table:
--   ts, then touchpoint, then channel), and so do next_stage and the first-pair and first-source flags.
-- Parameters: none; getvariable('cx_start' | 'cx_end' | 'cx_channel' | 'cx_touchpoint'), NULL = no restriction;
--   rows from cx_start to cx_end, both days included.
-- Slots: {base}: the store's events_ordered table; {scope}: TRUE, or a semi-join on the filtered customers view;
--   {cid}: x.cid, or a NULL key for a store built before the integer keys (opened read-only, not migrated).
-- Output: customer_id, ts, touchpoint, channel, session_id, stage, seq, prev_touchpoint, prev_channel,
--   prev_ts, next_touchpoint, next_channel, next_ts, cid, next_stage, first_pair, first_stage_pair, first_source,
--   first_stage_source
WITH o AS (
  SELECT
    x.customer_id, x.ts, x.touchpoint, x.channel, x.session_id, x.stage,
    row_number() OVER w AS seq,
    lag(x.touchpoint) OVER w AS prev_touchpoint,
    lag(x.channel) OVER w AS prev_channel,
    lag(x.ts) OVER w AS prev_ts,
    lead(x.touchpoint) OVER w AS next_touchpoint,
    lead(x.channel) OVER w AS next_channel,
    lead(x.ts) OVER w AS next_ts,
    {cid} AS cid,
    lead(x.stage) OVER w AS next_stage
  FROM {base} x
  WHERE (getvariable('cx_start') IS NULL OR x.ts >= getvariable('cx_start'))
    AND (getvariable('cx_end') IS NULL OR x.ts < CAST(getvariable('cx_end') AS DATE) + INTERVAL 1 DAY)
    AND (getvariable('cx_channel') IS NULL OR x.channel = getvariable('cx_channel'))
    AND (getvariable('cx_touchpoint') IS NULL OR x.touchpoint = getvariable('cx_touchpoint'))
    AND {scope}
  WINDOW w AS (PARTITION BY x.customer_id ORDER BY x.ts, x.touchpoint, x.channel)
)
SELECT o.*,
  next_ts IS NOT NULL AND row_number() OVER (PARTITION BY customer_id, touchpoint, next_touchpoint ORDER BY seq) = 1 AS first_pair,
  next_ts IS NOT NULL AND stage <> next_stage
    AND row_number() OVER (PARTITION BY customer_id, stage, next_stage ORDER BY seq) = 1 AS first_stage_pair,
  next_ts IS NOT NULL AND row_number() OVER (PARTITION BY customer_id, touchpoint, next_ts IS NOT NULL ORDER BY seq) = 1
    AS first_source,
  coalesce(stage <> next_stage, false)
    AND row_number() OVER (PARTITION BY customer_id, stage, coalesce(stage <> next_stage, false) ORDER BY seq) = 1
    AS first_stage_source
FROM o
