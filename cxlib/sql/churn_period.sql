-- churn_period: period churn rate = customers lost in the period / customers active at its start.
-- Parameters: those of <status>, plus $period ('month' | 'week'), $as_of (TIMESTAMP),
--   $inactivity_days (INTEGER; 0 for contractual churn: periods are judged once they end).
-- Slots: <status>: a churn_status_* query.
-- Output: period (start of the period), period_end, active_at_start (started before the period
--   start and not churned before it), lost (churned with a churn date inside the period),
--   churn_rate, complete (period ended by $as_of), judged (period_end + $inactivity_days <=
--   $as_of: every churn in the period can be known).
WITH s AS (SELECT * FROM {status}),
bounds AS (
  SELECT date_trunc($period, min(start)) AS first_p,
         CASE WHEN $period = 'month'
              THEN date_diff('month', date_trunc('month', min(start)), date_trunc('month', CAST($as_of AS TIMESTAMP)))
              ELSE date_diff('day', date_trunc('week', min(start)), date_trunc('week', CAST($as_of AS TIMESTAMP))) // 7
         END AS n
  FROM s
),
p AS (
  SELECT CASE WHEN $period = 'month' THEN first_p + to_months(CAST(k AS INTEGER))
              ELSE first_p + to_days(CAST(7 * k AS INTEGER)) END AS period,
         CASE WHEN $period = 'month' THEN first_p + to_months(CAST(k + 1 AS INTEGER))
              ELSE first_p + to_days(CAST(7 * (k + 1) AS INTEGER)) END AS period_end
  FROM bounds CROSS JOIN unnest(range(0, coalesce(n, -1) + 1)) AS t(k)
)
SELECT p.period, p.period_end,
       count(*) FILTER (WHERE s.start < p.period AND (NOT s.churned OR s."end" >= p.period)) AS active_at_start,
       count(*) FILTER (WHERE s.start < p.period AND s.churned AND s."end" >= p.period AND s."end" < p.period_end) AS lost,
       CAST(count(*) FILTER (WHERE s.start < p.period AND s.churned AND s."end" >= p.period AND s."end" < p.period_end) AS DOUBLE)
         / nullif(count(*) FILTER (WHERE s.start < p.period AND (NOT s.churned OR s."end" >= p.period)), 0) AS churn_rate,
       p.period_end <= $as_of AS complete,
       p.period_end + to_days(CAST($inactivity_days AS INTEGER)) <= $as_of AS judged
FROM p CROSS JOIN s
GROUP BY p.period, p.period_end
ORDER BY p.period
