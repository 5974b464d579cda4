-- rfm_segments: per named RFM segment of cx_rfm (built by rfm.sql): size and typical R/F/M values.
-- Parameters: none.
-- Output: segment, customers, recency_days (median), frequency (mean), monetary (mean)
SELECT rfm_segment AS segment, count(*) AS customers,
       median(recency_days) AS recency_days, avg(frequency) AS frequency, avg(monetary) AS monetary
FROM cx_rfm GROUP BY rfm_segment ORDER BY rfm_segment
