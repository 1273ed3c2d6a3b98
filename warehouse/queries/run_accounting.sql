-- Every run's counts; `accounted` is false if any item went missing.
SELECT run_id, kind, started_at, status, items_seen, loaded, updated, duplicates, quarantined,
       feeds_ok, feeds_failed, accounted
FROM v_run_summary
ORDER BY started_at DESC;
