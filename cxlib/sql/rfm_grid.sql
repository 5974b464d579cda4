-- rfm_grid: customers per recency x frequency score cell of cx_rfm (built by rfm.sql),
--   with the named segment of the cell; customers with no orders are left out (no scores).
-- Parameters: none.
-- Output: r_score, f_score, segment, customers
SELECT r_score, f_score, rfm_segment AS segment, count(*) AS customers
FROM cx_rfm WHERE r_score IS NOT NULL
GROUP BY r_score, f_score, rfm_segment ORDER BY r_score, f_score
