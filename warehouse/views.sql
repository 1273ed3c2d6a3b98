-- Views are recreated after every migration; they hold no data.

CREATE OR REPLACE VIEW v_articles_relevant AS
SELECT a.*, COALESCE(a.published_at, a.ingested_at) AS event_at
FROM articles a
WHERE a.relevance_label >= 1 AND a.duplicate_of IS NULL;

-- The digest an article belongs to: its publication day when known to the day and close to when it was first
-- seen (at most 2 days before), else the day it was first seen (old or undated documents surface when they
-- arrive). The one definition: the load stores it in articles.digest_day through this macro.
CREATE OR REPLACE MACRO digest_day_of(published_at, date_precision, ingested_at) AS CAST(
    CASE WHEN date_precision IN ('day', 'second') AND published_at >= ingested_at - INTERVAL 2 DAY
         THEN published_at ELSE ingested_at END AT TIME ZONE 'UTC' AS DATE);

-- Articles with the day they belong to in a digest (articles.digest_day, see digest_day_of).
CREATE OR REPLACE VIEW v_digest_articles AS
SELECT a.* FROM articles a;

-- Feed health as of a moment: the one definition, used by `newswatch feeds`, the digest and v_feed_health.
-- silent: an active feed whose last day brought under {silent_ratio} of its daily baseline (the {baseline_days}
-- days before it), once that baseline is at least one item a day.
CREATE OR REPLACE MACRO feed_health_at(as_of) AS TABLE
WITH counted AS (
    SELECT s.*,
           (SELECT count(*) FROM articles a WHERE a.source_id = s.source_id
              AND a.ingested_at >= as_of - INTERVAL 1 DAY) AS items_last_day,
           (SELECT count(*) FROM articles a WHERE a.source_id = s.source_id
              AND a.ingested_at >= as_of - INTERVAL {baseline_days} DAY
              AND a.ingested_at < as_of - INTERVAL 1 DAY) / ({baseline_days} - 1) AS baseline_per_day
    FROM sources s WHERE s.kind = 'feed'
)
SELECT source_id, name, url,
       CASE WHEN state = 'active' AND baseline_per_day >= 1 AND items_last_day < {silent_ratio} * baseline_per_day
            THEN 'silent' ELSE state END AS state,
       last_status, last_error, error_streak, item_count, items_last_day,
       round(baseline_per_day, 2) AS baseline_items_per_day, last_fetch_at, last_success_at, next_poll_at,
       poll_interval_s, coalesce(tags, []) AS tags
FROM counted;

CREATE OR REPLACE VIEW v_feed_health AS SELECT * FROM feed_health_at(now());

CREATE OR REPLACE VIEW v_run_summary AS
SELECT run_id, kind, started_at, finished_at, status, items_seen, loaded, updated, duplicates, quarantined,
       feeds_ok, feeds_failed,
       items_seen = loaded + updated + duplicates + quarantined AS accounted
FROM runs;
