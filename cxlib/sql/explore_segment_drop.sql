-- explore_segment_drop: forget the saved segment $name (its members in the session's segment table).
-- Parameters: $name (VARCHAR)
-- Output: Count (rows deleted)
DELETE FROM cx_session.main.saved_segment_members WHERE name = $name
