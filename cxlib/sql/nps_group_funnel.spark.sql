-- nps_group_funnel, the Spark form (cxlib.sql picks <name>.spark.sql on Spark; DuckDB runs nps_group_funnel.sql):
-- the same relabelling of cx_funnel_customers.segment with each customer's NPS group (cx_nps_groups; a
-- customer missing there is 'no_response'). Spark keeps the temp table as a view, which an UPDATE cannot
-- change: the table is made again with the same rows and columns (funnel_customers.sql's output).
-- Parameters: none.
CREATE OR REPLACE TEMP TABLE cx_funnel_customers AS
SELECT f.customer_id,
       coalesce((SELECT g.nps_group FROM cx_nps_groups g WHERE g.customer_id = f.customer_id), 'no_response')
         AS segment,
       f.furthest, f.is_open, f.times, f.reached
FROM cx_funnel_customers f
