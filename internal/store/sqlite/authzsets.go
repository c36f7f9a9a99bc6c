package sqlite

import (
	"database/sql/driver"
	"fmt"

	msqlite "modernc.org/sqlite"

	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// A page of one kind by name whose other conditions are all under OR or
// NOT (an owners-only policy) tests each row it walks against the ids the
// store's cached sets say match, through sqlplan.IDSetFunction, instead of
// probing both conditions per row. The statement passes a small handle,
// not the 12–31 KB bitmap, which the driver would copy on every call.
func init() {
	msqlite.MustRegisterScalarFunction(sqlplan.IDSetFunction, 2, idSetHas)
	sqlplan.EnableIDSetFunction()
}

// idSetHas is sqlplan.IDSetFunction: (handle, id) -> 1 or 0.
func idSetHas(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	handle, ok1 := args[0].(int64)
	id, ok2 := args[1].(int64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: want two integers, got %T and %T", sqlplan.IDSetFunction, args[0], args[1])
	}
	has, err := sqlplan.IDSetHas(handle, id)
	if err != nil {
		return nil, err
	}
	if has {
		return int64(1), nil
	}
	return int64(0), nil
}
