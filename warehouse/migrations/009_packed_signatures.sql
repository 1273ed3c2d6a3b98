-- Story features as MessagePack bytes instead of a JSON document: the load writes one per new article, and a
-- JSON column parses and validates every document on insert (about half of the load's time for signatures).
-- Rows written before this migration keep their JSON text as UTF-8 bytes; the reader tells the two apart by
-- the first byte ('{' is JSON, a MessagePack map starts 0x80-0x8f or 0xde-0xdf). Rebuilt and renamed rather than
-- altered in place, because DuckLake changes a column's type only by widening it.
CREATE TABLE story_signatures_packed (
    article_id  VARCHAR PRIMARY KEY,
    story_id    VARCHAR NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL,
    features    BLOB NOT NULL          -- MessagePack map: weighted tokens, ordinals, numbers, names, vector ...
);
INSERT INTO story_signatures_packed
SELECT article_id, story_id, seen_at, encode(CAST(features AS VARCHAR)) FROM story_signatures;
DROP TABLE story_signatures;
ALTER TABLE story_signatures_packed RENAME TO story_signatures;
