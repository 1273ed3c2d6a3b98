-- How much a story matters, computed once per story whenever its members change (load, rescore), so that
-- SQL users can sort by it; and the one topic a story is filed under. The formula and its weights are in
-- pipeline/importance.py (weights are settings, NEWSWATCH_IMPORTANCE_*).
ALTER TABLE stories ADD COLUMN importance DOUBLE DEFAULT 0;
ALTER TABLE stories ADD COLUMN primary_topic VARCHAR;
ALTER TABLE stories ADD COLUMN core_members INTEGER DEFAULT 0;
