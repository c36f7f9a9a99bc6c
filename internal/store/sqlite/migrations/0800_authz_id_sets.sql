-- PostgreSQL's 0800 keeps authorized pages' id sets on the server; SQLite
-- tests them in process (atrium_idset_has) and needs nothing here.
SELECT 1;
