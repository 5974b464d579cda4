-- funnel: per segment and step, counts read from TEMP TABLE cx_funnel_customers (built by
-- funnel_customers.sql on the same connection just before).
-- Parameters: $n_steps (INTEGER, number of steps).
-- Output: segment, step, customers (counted at the step: reached[step]; for all types but 'open'
--   that is furthest step >= step), open_window (stopped at the previous
--   step, window still open), dropped (stopped at the previous step, window closed), open_before
--   (stopped at any earlier step, window still open), median_seconds (median time from the
--   previous step to this one over customers reaching this step, from their best attempt),
--   entries (rows counted at the step: with count = 'totals' one row per counted attempt, so
--   customers counts distinct customers and entries the attempts).
-- Slots: {customers}: count(DISTINCT f.customer_id) when a customer may have several rows in a segment
--   (count = 'totals'), else count(*) (one row per customer and segment: the same number, without
--   DuckDB building a distinct set per group).
SELECT f.segment,
       st.step,
       {customers} FILTER (WHERE f.reached[CAST(st.step AS INTEGER)]) AS customers,
       count(*) FILTER (WHERE f.reached[CAST(st.step AS INTEGER)]) AS entries,
       count(*) FILTER (WHERE f.furthest = st.step - 1 AND f.is_open) AS open_window,
       count(*) FILTER (WHERE f.furthest = st.step - 1 AND NOT f.is_open) AS dropped,
       count(*) FILTER (WHERE f.furthest < st.step AND f.is_open) AS open_before,
       median(CASE WHEN f.furthest >= st.step AND st.step > 1  -- the CASE: Spark reads no step beyond the list
                   THEN epoch(f.times[CAST(st.step AS INTEGER)]) - epoch(f.times[CAST(st.step - 1 AS INTEGER)]) END)
         FILTER (WHERE f.furthest >= st.step AND st.step > 1) AS median_seconds
FROM cx_funnel_customers f
CROSS JOIN (SELECT unnest(range(1, $n_steps + 1)) AS step) st
GROUP BY f.segment, st.step
ORDER BY f.segment, st.step
