-- survey_values: the distinct touchpoints and channels that survey answers (of one metric, or
--   of any metric when $metric is NULL) carry, used to check a touchpoint / channel filter and
--   suggest a spelling.
-- Parameters: $metric (VARCHAR: nps, csat or ces; NULL for every metric)
-- Output: kind ('touchpoint' | 'channel'), value
SELECT DISTINCT 'touchpoint' AS kind, touchpoint AS value
FROM survey_responses WHERE ($metric IS NULL OR metric = $metric) AND touchpoint IS NOT NULL
UNION ALL
SELECT DISTINCT 'channel' AS kind, channel AS value
FROM survey_responses WHERE ($metric IS NULL OR metric = $metric) AND channel IS NOT NULL
ORDER BY 1, 2
