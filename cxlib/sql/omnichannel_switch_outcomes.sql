-- omnichannel_switch_outcomes: CSAT, CES and conversion of customers who had to switch channel
-- during service versus those whose service contacts never switched.
-- A customer "switched" when a service contact (touchpoint in $contacts) was followed by their
-- next contact on a different channel at most $within_seconds later. Only customers with at least
-- one service contact in the range are compared.
-- Parameters: $contacts (VARCHAR[]), $within_seconds (DOUBLE), $start, $end (TIMESTAMP or NULL;
--   inclusive / exclusive; survey answers and orders in the same range count).
-- Output: group ('switched' | 'not_switched'), customers, csat_n, csat_top2 (answers 4-5),
--   ces_n, ces_sum, ces_sumsq (for the mean and t interval), ces_high (answers 5-7),
--   converted (customers with an order)
WITH c AS (
  SELECT customer_id, ts, channel,
         lead(ts) OVER w AS next_ts, lead(channel) OVER w AS next_ch
  FROM events_ordered
  WHERE list_contains($contacts, touchpoint)
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  WINDOW w AS (PARTITION BY customer_id ORDER BY seq)
),
cust AS (
  SELECT customer_id,
         bool_or(coalesce(next_ch <> channel AND next_ts <= ts + to_seconds($within_seconds), false)) AS switched
  FROM c GROUP BY customer_id
),
answers AS (
  SELECT r.customer_id, r.metric, r.score
  FROM survey_responses r JOIN cust USING (customer_id)
  WHERE r.metric IN ('csat', 'ces')
    AND ($start IS NULL OR r.ts >= $start) AND ($end IS NULL OR r.ts < $end)
),
buyers AS (
  SELECT DISTINCT customer_id FROM orders
  WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
per_group_customers AS (
  SELECT CASE WHEN switched THEN 'switched' ELSE 'not_switched' END AS "group",
         count(*) AS customers,
         count(b.customer_id) AS converted
  FROM cust LEFT JOIN buyers b USING (customer_id)
  GROUP BY 1
),
per_group_answers AS (
  SELECT CASE WHEN cust.switched THEN 'switched' ELSE 'not_switched' END AS "group",
         count(*) FILTER (WHERE metric = 'csat') AS csat_n,
         count(*) FILTER (WHERE metric = 'csat' AND score >= 4) AS csat_top2,
         count(*) FILTER (WHERE metric = 'ces') AS ces_n,
         sum(score::DOUBLE) FILTER (WHERE metric = 'ces') AS ces_sum,
         sum(score::DOUBLE * score) FILTER (WHERE metric = 'ces') AS ces_sumsq,
         count(*) FILTER (WHERE metric = 'ces' AND score >= 5) AS ces_high
  FROM answers JOIN cust USING (customer_id)
  GROUP BY 1
)
SELECT g."group", g.customers,
       coalesce(a.csat_n, 0) AS csat_n, coalesce(a.csat_top2, 0) AS csat_top2,
       coalesce(a.ces_n, 0) AS ces_n, a.ces_sum, a.ces_sumsq, coalesce(a.ces_high, 0) AS ces_high,
       g.converted
FROM per_group_customers g LEFT JOIN per_group_answers a USING ("group")
ORDER BY g."group" DESC
