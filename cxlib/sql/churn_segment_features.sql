-- churn_segment_features: each customer's value of a customer_features column, as text.
-- Parameters: those of <features> ($as_of). Slots: <features>: the customer_features query;
--   <segment_col>: a checked column of it (nps_group, long_resolution, ...).
-- Output: customer_id, segment ('(none)' when blank, e.g. never answered NPS)
SELECT customer_id, coalesce(CAST({segment_col} AS VARCHAR), '(none)') AS segment FROM {features} f
