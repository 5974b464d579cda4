-- cluster_mix: per customer, the number of their events up to $as_of on each channel and on
--   each journey stage, the long input of behavioural clustering's channel and stage mix (the
--   caller divides by the customer's events and keeps the customers it clusters).
-- Parameters: $as_of (TIMESTAMP).
-- Output: customer_id, kind ('channel' | 'stage'), value, events
-- One pass over the events (grouping sets), no join: the share is taken in Python.
SELECT customer_id,
       CASE WHEN grouping(stage) = 1 THEN 'channel' ELSE 'stage' END AS kind,
       CASE WHEN grouping(stage) = 1 THEN channel ELSE stage END AS value,
       count(*) AS events
FROM events_ordered
WHERE ts <= $as_of
GROUP BY GROUPING SETS ((customer_id, channel), (customer_id, stage))
