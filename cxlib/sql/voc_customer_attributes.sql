-- voc_customer_attributes: the chosen customer attributes of every customer, as inputs of key
--   driver analysis (customer-level: for models, never for stakeholder output).
-- Parameters: none
-- Slots: {columns}: a comma-separated list of checked customers columns
-- Output: customer_id, <the chosen columns>
SELECT customer_id, {columns}
FROM customers
ORDER BY customer_id
