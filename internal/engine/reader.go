package engine

import (
	"context"
	"strings"
)

// Reader reads the targets of one location type.
//
// Read returns fault.NotFound when the target does not exist (so optional
// locations can tell a missing file from a broken one) and fault.TooLarge
// when it is over the reader's size limit.
type Reader interface {
	Read(ctx context.Context, target string) ([]byte, error)
}

// Globber is a Reader that can expand wildcard targets ("./catalog/**/*.yaml").
type Globber interface {
	Reader
	// Glob returns the targets matching pattern, sorted.
	Glob(ctx context.Context, pattern string) ([]string, error)
}

// isGlob reports whether a target has wildcards.
func isGlob(target string) bool { return strings.ContainsAny(target, "*?[") }
