-- The day an article belongs to in a digest, stored instead of computed per query: its publication day when
-- known to the day and close to when it was first seen, else the day it was first seen. (This backfill is
-- history; the live rule is the digest_day_of macro in warehouse/views.sql.)
ALTER TABLE articles ADD COLUMN digest_day DATE;
UPDATE articles SET digest_day = CAST(
    CASE WHEN published_precision IN ('day', 'second') AND published_at >= ingested_at - INTERVAL 2 DAY
         THEN published_at ELSE ingested_at END AT TIME ZONE 'UTC' AS DATE);
