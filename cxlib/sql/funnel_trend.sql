-- funnel_trend: conversion per period of entering step 1 (PostHog's funnel "trends" view), read from
-- TEMP TABLE cx_funnel_customers built by funnel_customers.sql with $count = 'trend' just before (one
-- row per customer and period: the best attempt whose step 1 falls in the period).
-- Parameters: $n_steps (INTEGER, number of steps), $period ('week' | 'month').
-- Output: segment, period (DATE, the period's first day; weeks start on Monday), entered (customers
--   with a step-1 event in the period), converted (of them, reached the last step from an attempt
--   entering then), open_window (not converted, a window from the period still open at the end of
--   the data), median_seconds (median time from step 1 to the last step of the converted).
SELECT segment,
       CAST(date_trunc($period, times[1]) AS DATE) AS period,
       count(*) AS entered,
       count(*) FILTER (WHERE furthest = $n_steps) AS converted,
       count(*) FILTER (WHERE furthest < $n_steps AND is_open) AS open_window,
       median(CASE WHEN furthest = $n_steps THEN epoch(times[CAST($n_steps AS INTEGER)]) - epoch(times[1]) END)
         FILTER (WHERE furthest = $n_steps) AS median_seconds
FROM cx_funnel_customers
GROUP BY ALL
ORDER BY segment, period
