-- newswatch warehouse, version 1: sources, runs, articles with revisions, quarantine, stories, digests.

CREATE TABLE sources (
    source_id        VARCHAR PRIMARY KEY,        -- 'seeds' or 'feed:<name>'
    kind             VARCHAR NOT NULL,           -- 'seed' | 'feed'
    name             VARCHAR NOT NULL,
    url              VARCHAR,
    language         VARCHAR,
    tags             VARCHAR[] DEFAULT [],
    state            VARCHAR NOT NULL DEFAULT 'active',  -- active | failing | silent | retired
    etag             VARCHAR,
    last_modified    VARCHAR,
    last_body_hash   VARCHAR,
    last_status      INTEGER,
    last_error       VARCHAR,
    error_streak     INTEGER NOT NULL DEFAULT 0,
    last_fetch_at    TIMESTAMPTZ,
    last_success_at  TIMESTAMPTZ,
    next_poll_at     TIMESTAMPTZ,
    poll_interval_s  INTEGER,
    retired_at       TIMESTAMPTZ,
    item_count       BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE runs (
    run_id        VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,              -- ingest | replay | digest | quarantine_replay
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL,              -- running | success | failed
    items_seen    BIGINT NOT NULL DEFAULT 0,
    loaded        BIGINT NOT NULL DEFAULT 0,
    updated       BIGINT NOT NULL DEFAULT 0,
    duplicates    BIGINT NOT NULL DEFAULT 0,
    quarantined   BIGINT NOT NULL DEFAULT 0,
    feeds_ok      INTEGER NOT NULL DEFAULT 0,
    feeds_failed  INTEGER NOT NULL DEFAULT 0,
    details       JSON
);

CREATE TABLE articles (
    article_id           VARCHAR PRIMARY KEY,     -- stable: hash of source and guid/canonical URL/file name
    source_kind          VARCHAR NOT NULL,        -- 'seed' | 'feed'
    source_id            VARCHAR NOT NULL,
    source_name          VARCHAR NOT NULL,
    guid                 VARCHAR,
    url                  VARCHAR,
    canonical_url        VARCHAR,
    title                VARCHAR NOT NULL,
    summary              VARCHAR,
    summary_html         VARCHAR,
    body                 VARCHAR,
    author               VARCHAR,
    tags                 VARCHAR[] DEFAULT [],
    published_at         TIMESTAMPTZ,             -- NULL when unknown
    published_precision  VARCHAR NOT NULL,        -- second | day | month | unknown
    updated_at           TIMESTAMPTZ,
    ingested_at          TIMESTAMPTZ NOT NULL,
    last_seen_at         TIMESTAMPTZ NOT NULL,
    first_run_id         VARCHAR,
    language             VARCHAR,
    content_hash         VARCHAR NOT NULL,
    title_key            VARCHAR,
    relevance_score      DOUBLE,
    relevance_label      TINYINT,
    topics               VARCHAR[] DEFAULT [],
    evidence             JSON,
    classifier_version   VARCHAR,
    story_id             VARCHAR,
    duplicate_of         VARCHAR,
    flags                VARCHAR[] DEFAULT [],
    revision             INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE article_revisions (
    article_id    VARCHAR NOT NULL,
    revision      INTEGER NOT NULL,
    title         VARCHAR,
    summary       VARCHAR,
    content_hash  VARCHAR,
    seen_at       TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR,
    PRIMARY KEY (article_id, revision)
);

CREATE TABLE quarantine (
    quarantine_id  VARCHAR PRIMARY KEY,          -- hash of source and the item's identity
    run_id         VARCHAR,
    source_id      VARCHAR,
    article_id     VARCHAR,
    item           JSON NOT NULL,                -- the full original item
    reasons        JSON NOT NULL,                -- [{expectation, column, value, severity}]
    created_at     TIMESTAMPTZ NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'open',  -- open | released
    released_at    TIMESTAMPTZ
);

CREATE TABLE validation_runs (
    run_id        VARCHAR NOT NULL,
    batch         INTEGER NOT NULL DEFAULT 0,
    ran_at        TIMESTAMPTZ NOT NULL,
    success       BOOLEAN NOT NULL,
    rows_checked  BIGINT NOT NULL,
    rows_failed   BIGINT NOT NULL,
    results       JSON,                          -- per expectation: unexpected count and examples
    PRIMARY KEY (run_id, batch)
);

CREATE TABLE stories (
    story_id             VARCHAR PRIMARY KEY,
    first_seen           TIMESTAMPTZ,
    last_seen            TIMESTAMPTZ,
    headline             VARCHAR,
    headline_article_id  VARCHAR,
    member_count         INTEGER NOT NULL DEFAULT 0,
    outlets              VARCHAR[] DEFAULT [],
    languages            VARCHAR[] DEFAULT [],
    max_relevance        DOUBLE,
    topics               VARCHAR[] DEFAULT []
);

CREATE TABLE digests (
    digest_date         DATE PRIMARY KEY,
    built_at            TIMESTAMPTZ NOT NULL,
    relevant_stories    INTEGER NOT NULL,
    relevant_articles   INTEGER NOT NULL,
    html_path           VARCHAR,
    text_path           VARCHAR,
    markdown_path       VARCHAR
);

CREATE TABLE digest_sends (
    digest_date   DATE NOT NULL,
    recipients    VARCHAR NOT NULL,
    attempted_at  TIMESTAMPTZ NOT NULL,
    status        VARCHAR NOT NULL,              -- sent | failed
    error         VARCHAR,
    message_id    VARCHAR
);
