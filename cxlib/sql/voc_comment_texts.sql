-- voc_comment_texts: each distinct comment text on survey answers with how many answers carry it,
--   so that each text's language is detected once (cxlib.analysis.voc.language).
-- Parameters: $metric (VARCHAR or NULL = every metric), $start, $end (TIMESTAMP or NULL, on the
--   answer's ts: inclusive, exclusive)
-- Output: comment, comments
SELECT comment, count(*) AS comments
FROM survey_responses
WHERE comment IS NOT NULL AND trim(comment) <> ''
  AND ($metric IS NULL OR metric = $metric)
  AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
GROUP BY comment
ORDER BY comment
