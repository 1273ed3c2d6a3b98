-- The analyst's relevance judgements (newswatch label): an append-only history; the newest row per article
-- is the current judgement. The classifier's verdict at that moment is kept beside it, so `eval --warehouse`
-- and the README can say how often analysts disagreed with which classifier version.
CREATE TABLE labels (
    label_id             VARCHAR PRIMARY KEY,
    article_id           VARCHAR NOT NULL,
    label                TINYINT NOT NULL CHECK (label IN (0, 1, 2)),
    note                 VARCHAR,
    labelled_by          VARCHAR NOT NULL,
    labelled_at          TIMESTAMPTZ NOT NULL,
    classifier_version   VARCHAR,
    predicted_label      TINYINT
);
CREATE INDEX labels_article ON labels (article_id);
