-- omnichannel_switches: channel switches within a journey: consecutive events of a customer on
-- different channels at most $within_seconds apart (exactly at the limit counts).
-- Parameters: $start, $end (TIMESTAMP or NULL; inclusive / exclusive, both events in range),
--   $within_seconds (DOUBLE).
-- Output: from_channel, to_channel, switches, customers, median_seconds
SELECT channel AS from_channel, next_channel AS to_channel,
       count(*) AS switches,
       count(DISTINCT customer_id) AS customers,
       median(epoch(next_ts) - epoch(ts)) AS median_seconds
FROM events_ordered
WHERE next_ts IS NOT NULL AND next_channel <> channel
  AND next_ts <= ts + to_seconds($within_seconds)
  AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR next_ts < $end)
GROUP BY ALL
ORDER BY switches DESC, from_channel, to_channel
