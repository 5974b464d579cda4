-- explore_segments: the saved segments of the session with their customer counts.
-- Parameters: none
-- Output: name, customers (ordered by name)
SELECT name, count(*) AS customers
FROM cx_session.main.saved_segment_members
GROUP BY name
ORDER BY name
