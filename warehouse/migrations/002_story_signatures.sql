-- Same-story detection state: the features of recent articles (a rolling window), so that story assignment
-- is incremental and persistent across runs.
CREATE TABLE story_signatures (
    article_id  VARCHAR PRIMARY KEY,
    story_id    VARCHAR NOT NULL,
    seen_at     TIMESTAMPTZ NOT NULL,
    features    JSON NOT NULL          -- weighted tokens, ordinals, numbers, series flag, title key
);
