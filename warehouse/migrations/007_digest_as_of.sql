-- True time in the digest. A story's first_seen is when the warehouse first saw it (its earliest member's
-- ingested_at); first_published is its earliest known publication time. A digest records the moment it was
-- built as of and the feed health it showed, so rebuilding a past day gives the same page.
ALTER TABLE stories ADD COLUMN first_published TIMESTAMPTZ;
UPDATE stories SET first_seen = m.seen, first_published = m.published
FROM (SELECT story_id, min(ingested_at) AS seen, min(published_at) AS published FROM articles GROUP BY story_id) m
WHERE stories.story_id = m.story_id;
ALTER TABLE digests ADD COLUMN as_of TIMESTAMPTZ;
ALTER TABLE digests ADD COLUMN feed_health JSON;
