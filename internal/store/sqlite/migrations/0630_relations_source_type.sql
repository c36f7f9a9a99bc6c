-- PostgreSQL's 0630 adds the relation type to relations_source so that
-- lookups read relations from the index alone; SQLite needs nothing here.
SELECT 1;
