package sqlplan

import (
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// MigrationVersion returns the number that starts a migration file name
// such as "0001_init.sql".
func MigrationVersion(name string) (int, error) {
	num, _, ok := strings.Cut(name, "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
		return 0, fault.New(fault.Internal, "migration file %q is not named NNNN_description.sql", name)
	}
	return v, nil
}
