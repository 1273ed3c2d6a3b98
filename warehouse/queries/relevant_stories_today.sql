-- Relevant stories for one digest day (replace the date), with how many outlets carried them.
SELECT story_id, any_value(title) AS example_title, count(*) AS members,
       list(DISTINCT source_name) AS outlets, max(relevance_label) AS label, max(relevance_score) AS score
FROM v_digest_articles
WHERE digest_day = DATE '2026-11-21' AND relevance_label >= 1
GROUP BY story_id
ORDER BY label DESC, score DESC;
