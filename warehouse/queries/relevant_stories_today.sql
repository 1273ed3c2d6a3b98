-- Relevant stories of one digest day (today, or: newswatch query --file THIS --param day=2026-11-21), with how
-- many outlets carried them, most important first.
SELECT a.story_id, any_value(s.headline) AS headline, count(*) AS members,
       list(DISTINCT a.source_name) AS outlets, max(a.relevance_label) AS label,
       round(any_value(s.importance), 3) AS importance
FROM v_digest_articles a LEFT JOIN stories s USING (story_id)
WHERE a.digest_day = coalesce(getvariable('day')::DATE, current_date) AND a.relevance_label >= 1
GROUP BY a.story_id
ORDER BY importance DESC NULLS LAST, label DESC;
