-- Customers and events per channel, touchpoint, week or month (profile.activity).
-- Slots: {group} the grouping expression over events e (a fixed text of cxlib's, never a user's).
-- Parameters: $start (TIMESTAMP or NULL, inclusive), $end (TIMESTAMP or NULL, exclusive).
SELECT {group} AS value,
       count(DISTINCT e.customer_id) AS customers,
       count(*) AS events
FROM events e
WHERE ($start IS NULL OR e.ts >= $start) AND ($end IS NULL OR e.ts < $end)
  AND {group} IS NOT NULL
GROUP BY 1
ORDER BY 1
