-- segment_usage: how much each segment of cx_segment_members uses each touchpoint and channel,
--   against everybody (the basis of top touchpoints and personalisation cues).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive): event window.
-- Output: segment, kind ('touchpoint' | 'channel'), value, customers (in the segment), users
--   (segment customers with such an event), events, segment_events (all events of the segment),
--   overall_customers, overall_users, overall_events, all_events
WITH ev AS (
  SELECT m.segment, e.customer_id, e.touchpoint, e.channel
  FROM events e JOIN cx_segment_members m ON m.customer_id = e.customer_id
  WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
),
seg AS (SELECT segment, count(*) AS customers FROM cx_segment_members GROUP BY segment),
seg_ev AS (SELECT segment, count(*) AS segment_events FROM ev GROUP BY segment),
use AS (
  SELECT segment, 'touchpoint' AS kind, touchpoint AS value,
         count(DISTINCT customer_id) AS users, count(*) AS events
  FROM ev GROUP BY segment, touchpoint
  UNION ALL
  SELECT segment, 'channel' AS kind, channel AS value,
         count(DISTINCT customer_id) AS users, count(*) AS events
  FROM ev GROUP BY segment, channel
),
tot AS (  -- a customer is in one segment, so summing segments' distinct users counts each once
  SELECT kind, value, sum(users) AS overall_users, sum(events) AS overall_events
  FROM use GROUP BY kind, value
)
SELECT use.segment, use.kind, use.value, seg.customers, use.users, use.events,
       seg_ev.segment_events,
       (SELECT count(*) FROM cx_segment_members) AS overall_customers,
       tot.overall_users, tot.overall_events,
       (SELECT count(*) FROM ev) AS all_events
FROM use
JOIN seg ON seg.segment = use.segment
JOIN seg_ev ON seg_ev.segment = use.segment
JOIN tot ON tot.kind = use.kind AND tot.value = use.value
ORDER BY use.segment, use.kind, use.value
