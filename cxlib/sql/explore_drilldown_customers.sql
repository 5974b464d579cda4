-- explore_drilldown_customers: the customers behind an aggregate: every customer of the (filtered)
--   store who is in the segment, has an event at the touchpoint on the channel (one event with both,
--   when both are given) and wrote a comment with one of the theme's keywords, each condition
--   applying only when given.
-- Parameters: $value (VARCHAR or NULL: the segment value, compared as text),
--   $touchpoint (VARCHAR or NULL), $channel (VARCHAR or NULL),
--   $keywords (VARCHAR[] or NULL: lower-case words; a comment matches
--   when one of its words, split on anything that is not a letter or digit, is in the list)
-- Slots: {segment}: a checked column of customers, or NULL when no segment is given.
-- Output: customer_id, events, responses, last_event_at
WITH chosen AS (
  SELECT c.customer_id
  FROM customers c
  WHERE ($value IS NULL OR CAST({segment} AS VARCHAR) = $value)
    AND (($touchpoint IS NULL AND $channel IS NULL) OR EXISTS (
          SELECT 1 FROM events e
          WHERE e.customer_id = c.customer_id
            AND ($touchpoint IS NULL OR e.touchpoint = $touchpoint)
            AND ($channel IS NULL OR e.channel = $channel)))
    AND ($keywords IS NULL OR EXISTS (
          SELECT 1 FROM survey_responses r
          WHERE r.customer_id = c.customer_id AND r.comment IS NOT NULL
            AND list_has_any(regexp_split_to_array(lower(r.comment), '[^[:alnum:]]+'), $keywords)))
)
SELECT
  ch.customer_id,
  (SELECT count(*) FROM events e WHERE e.customer_id = ch.customer_id) AS events,
  (SELECT count(*) FROM survey_responses r WHERE r.customer_id = ch.customer_id) AS responses,
  (SELECT max(e.ts) FROM events e WHERE e.customer_id = ch.customer_id) AS last_event_at
FROM chosen ch
ORDER BY ch.customer_id
