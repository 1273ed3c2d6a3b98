-- Landed bodies already parsed into the warehouse: a replay skips them unless forced.
CREATE TABLE processed_bodies (
    source_id     VARCHAR NOT NULL,
    body_hash     VARCHAR NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR,
    items         INTEGER NOT NULL,
    PRIMARY KEY (source_id, body_hash)
);
