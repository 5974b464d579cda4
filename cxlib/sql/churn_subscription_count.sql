-- churn_subscription_count: how many subscriptions the store holds (contractual churn needs some).
-- Parameters: none. Output: subscriptions
SELECT count(*) AS subscriptions FROM subscriptions
