package sqlplan

// PGFrontierSQL is, on PostgreSQL, the expression of the oldest
// transaction running when the statement's snapshot was taken that may
// have written to this database (pgFrontier): every transaction below it
// that wrote entities had ended, so its entity_changes rows are visible.
// The postgres store's EntityChangesSince uses it.
func PGFrontierSQL() string { return pgFrontier }
