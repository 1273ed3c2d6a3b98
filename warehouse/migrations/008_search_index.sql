-- Full-text search over articles (DuckDB's fts extension, `newswatch search`): the index is rebuilt when the
-- articles changed since it was built; this row says what it was built from.
CREATE TABLE search_index_state (
    articles     BIGINT NOT NULL,
    last_change  TIMESTAMPTZ,
    built_at     TIMESTAMPTZ NOT NULL
);
