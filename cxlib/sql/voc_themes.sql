-- voc_themes: per feedback theme, how many survey comments mention it and how the comments on
--   NPS answers among them split into promoters / passives / detractors; plus a '(no theme)' row
--   for comments that match no theme and the totals every share is taken of.
--   Only comments whose text is in $texts count (the texts in languages the taxonomy is written
--   in, chosen by cxlib.analysis.voc.text.themes after detecting each text's language).
--   A comment matches a theme when its normalised text (lower-cased, split into words on runs
--   of characters other than letters, digits and '_', joined by single spaces, a space at each
--   end) contains one of the theme's needles (cxlib.analysis.voc.text.keyword_pattern: ' on hold ' for a
--   whole word or phrase, ' bill' for the prefix keyword 'bill*'; values, bound).
-- Parameters: $themes (VARCHAR[]), $patterns (VARCHAR[], same length: pattern i belongs to
--   theme i), $texts (VARCHAR[]), $metric (VARCHAR or NULL = every metric), $start, $end
--   (TIMESTAMP or NULL, on the answer's ts: inclusive, exclusive)
-- Output: theme, comments, promoters, passives, detractors, total_comments, total_detractors,
--   total_promoters (promoters / passives / detractors: comments on NPS answers with a score)
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
  SELECT response_id, CASE WHEN metric = 'nps' THEN score END AS score,
         ' ' || array_to_string(regexp_split_to_array(lower(comment), '[^\pL\pN_]+'), ' ') || ' ' AS text
  FROM survey_responses
  WHERE comment IS NOT NULL AND trim(comment) <> ''
    AND comment IN (SELECT unnest($texts::VARCHAR[]))
    AND ($metric IS NULL OR metric = $metric)
    AND ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)
),
hits AS (
  SELECT DISTINCT tax.theme, com.response_id, com.score
  FROM com JOIN tax ON contains(com.text, tax.pattern)
),
none AS (
  SELECT '(no theme)' AS theme, response_id, score FROM com
  WHERE response_id NOT IN (SELECT response_id FROM hits)
),
per_theme AS (
  SELECT theme,
         count(*) AS comments,
         count(*) FILTER (WHERE score >= 9) AS promoters,
         count(*) FILTER (WHERE score BETWEEN 7 AND 8) AS passives,
         count(*) FILTER (WHERE score <= 6) AS detractors
  FROM (SELECT * FROM hits UNION ALL SELECT * FROM none)
  GROUP BY theme
),
themes AS (SELECT DISTINCT theme FROM tax UNION SELECT '(no theme)')
SELECT themes.theme,
       coalesce(p.comments, 0) AS comments,
       coalesce(p.promoters, 0) AS promoters,
       coalesce(p.passives, 0) AS passives,
       coalesce(p.detractors, 0) AS detractors,
       (SELECT count(*) FROM com) AS total_comments,
       (SELECT count(*) FROM com WHERE score <= 6) AS total_detractors,
       (SELECT count(*) FROM com WHERE score >= 9) AS total_promoters
FROM themes LEFT JOIN per_theme p USING (theme)
ORDER BY comments DESC, themes.theme
