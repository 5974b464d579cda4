-- funnel_time_to_convert: PostHog's "time to convert" histogram, read from TEMP TABLE
-- cx_funnel_customers (built by funnel_customers.sql just before; one row per customer, their best attempt).
-- Parameters: $from_step, $to_step (INTEGER, 1-based, from < to), $bins (INTEGER or NULL = automatic).
-- Rule (posthog/hogql_queries/insights/funnels/funnel_time_to_convert.py): x = seconds from the
--   customer's from_step to their to_step, over customers who reached to_step; from = floor(min x),
--   to = ceil(max x); bin count = $bins clamped to 1..90, or automatic min(60, max(1, ceil(cbrt(n))));
--   width = ceil((to - from) / bin count), 60 s when that is 0; a value falls in bin
--   from + floor((x - from) / width) * width; bins from + i * width for i = 0..bin count (bin count + 1
--   bins, empty ones with 0).
-- Output: segment, bin_from_seconds, bin_width_seconds, customers (in the bin), values (DOUBLE[]: the
--   segment's sorted seconds, repeated on each row of the segment, for the median and its interval).
WITH x AS (
  SELECT segment, epoch(times[CAST($to_step AS INTEGER)]) - epoch(times[CAST($from_step AS INTEGER)]) AS seconds
  FROM cx_funnel_customers WHERE furthest >= $to_step
),
params AS (
  SELECT floor(min(seconds)) AS lo, ceil(max(seconds)) AS hi,
         CAST(CASE WHEN $bins IS NOT NULL THEN least(90, greatest(1, $bins))
                   ELSE least(60, greatest(1, ceil(cbrt(count(*))))) END AS BIGINT) AS n_bins
  FROM x
),
width AS (
  SELECT lo, n_bins, CASE WHEN ceil((hi - lo) / n_bins) > 0 THEN ceil((hi - lo) / n_bins) ELSE 60 END AS w
  FROM params WHERE lo IS NOT NULL
),
binned AS (
  SELECT x.segment, w.lo + floor((x.seconds - w.lo) / w.w) * w.w AS bin_from_seconds, count(*) AS customers
  FROM x CROSS JOIN width w GROUP BY ALL
),
segs AS (SELECT segment, list_sort(list(seconds)) AS vals FROM x GROUP BY segment),
grid AS (
  SELECT s.segment, s.vals, w.lo + r.i * w.w AS bin_from_seconds, w.w
  FROM segs s CROSS JOIN width w CROSS JOIN (SELECT unnest(range(0, (SELECT n_bins FROM width) + 1)) AS i) r
)
SELECT g.segment, g.bin_from_seconds, g.w AS bin_width_seconds, coalesce(b.customers, 0) AS customers,
       g.vals AS "values"
FROM grid g LEFT JOIN binned b ON b.segment = g.segment AND b.bin_from_seconds = g.bin_from_seconds
ORDER BY g.segment, g.bin_from_seconds
