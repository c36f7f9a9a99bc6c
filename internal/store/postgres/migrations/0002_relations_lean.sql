-- relations_target served no query and cost an index insert per row.
DROP INDEX IF EXISTS relations_target;
