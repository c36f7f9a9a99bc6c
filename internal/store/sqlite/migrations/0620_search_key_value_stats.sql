-- PostgreSQL's 0620 adds multivariate statistics on search (key, value);
-- SQLite's planner has no such statistics, so this number is a no-op here.
SELECT 1;
