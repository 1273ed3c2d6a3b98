-- Relevant stories per topic per day over the last 14 days.
SELECT digest_day, topic, count(DISTINCT story_id) AS stories
FROM (SELECT unnest(topics) AS topic, digest_day, story_id FROM v_digest_articles WHERE relevance_label >= 1)
WHERE digest_day >= current_date - 14
GROUP BY ALL ORDER BY digest_day, stories DESC;
