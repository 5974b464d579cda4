-- nps_group_funnel: puts each funnel customer (TEMP TABLE cx_funnel_customers) in the NPS group of
-- cx_nps_groups (nps_group_at.sql, anchored at the customer's step-1 time); a customer missing there
-- is 'no_response'. Run only for a breakdown by nps_group.
-- Parameters: none.
UPDATE cx_funnel_customers f
SET segment = coalesce((SELECT g.nps_group FROM cx_nps_groups g WHERE g.customer_id = f.customer_id), 'no_response')
