-- segment_usage_spread: how segment_usage's event counts spread over the customers, for the
--   lift intervals (cxlib.analysis.segments.profile.lift_interval: customers are the sampling unit).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive): event window.
-- Output: segment, kind ('touchpoint' | 'channel'), value, a_sq (sum over the segment's customers of
--   (their events on it)^2), ab (sum of their events on it x their events in all), b_sq (sum over
--   the segment's customers of (their events in all)^2, the same on every row of the segment)
WITH ev AS (
  SELECT m.segment, e.customer_id, e.touchpoint, e.channel
  FROM events e JOIN cx_segment_members m ON m.customer_id = e.customer_id
  WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
),
per_customer AS (SELECT segment, customer_id, count(*) AS b FROM ev GROUP BY segment, customer_id),
per_value AS (
  SELECT segment, customer_id, 'touchpoint' AS kind, touchpoint AS value, count(*) AS a
  FROM ev GROUP BY segment, customer_id, touchpoint
  UNION ALL
  SELECT segment, customer_id, 'channel' AS kind, channel AS value, count(*) AS a
  FROM ev GROUP BY segment, customer_id, channel
),
seg AS (SELECT segment, sum(b * b)::DOUBLE AS b_sq FROM per_customer GROUP BY segment)
SELECT v.segment, v.kind, v.value, sum(v.a * v.a)::DOUBLE AS a_sq, sum(v.a * c.b)::DOUBLE AS ab, seg.b_sq
FROM per_value v
JOIN per_customer c ON c.segment = v.segment AND c.customer_id = v.customer_id
JOIN seg ON seg.segment = v.segment
GROUP BY v.segment, v.kind, v.value, seg.b_sq
ORDER BY v.segment, v.kind, v.value
