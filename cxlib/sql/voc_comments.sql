-- voc_comments: comments on survey answers with the themes each matches, for topics, sentiment
--   and quotes (text has to leave the database for these). At most $limit comments, a
--   reproducible pseudo-random sample (ordered by a hash of response_id) when there are more.
--   Theme needles matched as in voc_themes.sql.
-- Parameters: $themes (VARCHAR[]), $patterns (VARCHAR[]), $metric (VARCHAR or NULL = any),
--   $start, $end (TIMESTAMP or NULL), $limit (INTEGER)
-- Output: response_id, metric, score, nps_group ('promoter' | 'passive' | 'detractor' | NULL for
--   other metrics), comment, themes (VARCHAR[], sorted; empty when none)
WITH theme_list AS (  -- $themes and $patterns zipped by position (one unnest per select: Spark allows no more)
  SELECT theme, i FROM unnest($themes) WITH ORDINALITY AS u(theme, i)
),
pattern_list AS (
  SELECT pattern, i FROM unnest($patterns) WITH ORDINALITY AS u(pattern, i)
),
tax AS (
  SELECT theme_list.theme, pattern_list.pattern FROM theme_list JOIN pattern_list ON pattern_list.i = theme_list.i
),
com AS (
  SELECT response_id, metric, score, comment,
         ' ' || array_to_string(regexp_split_to_array(lower(comment), '[^\pL\pN_]+'), ' ') || ' ' AS text
  FROM survey_responses
  WHERE comment IS NOT NULL AND trim(comment) <> ''
    AND ($metric IS NULL OR metric = $metric)
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
  ORDER BY hash(response_id), response_id
  LIMIT $limit
)
SELECT com.response_id, com.metric, com.score,
       CASE WHEN com.metric <> 'nps' THEN NULL
            WHEN com.score >= 9 THEN 'promoter' WHEN com.score >= 7 THEN 'passive' ELSE 'detractor' END AS nps_group,
       com.comment,
       coalesce(list_sort(list_distinct(list(tax.theme) FILTER (WHERE tax.theme IS NOT NULL))), []) AS themes
FROM com LEFT JOIN tax ON contains(com.text, tax.pattern)
GROUP BY com.response_id, com.metric, com.score, com.comment
ORDER BY com.response_id
