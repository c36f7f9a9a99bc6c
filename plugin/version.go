package plugin

import (
	"fmt"
	"strconv"
	"strings"
)

// Supports reports whether version (semantic, "1.2.3") satisfies
// constraint, a plugin's Info.APIVersions. A constraint is one or more
// alternatives separated by "||"; an alternative is comparisons separated
// by spaces or commas, all of which must hold: ">=1.0.0 <2.0.0",
// "^1.2" (same major, at least 1.2.0), "~1.2" (same minor), "1.x",
// "=1.0.0" or a bare version (exactly it). An empty constraint is an error.
func Supports(constraint, version string) (bool, error) {
	v, err := parseVersion(version)
	if err != nil {
		return false, fmt.Errorf("version %q: %w", version, err)
	}
	if strings.TrimSpace(constraint) == "" {
		return false, fmt.Errorf("empty version constraint")
	}
	for alt := range strings.SplitSeq(constraint, "||") {
		ok, err := satisfiesAll(alt, v)
		if err != nil {
			return false, fmt.Errorf("constraint %q: %w", constraint, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// SupportsAPI reports whether a plugin declaring info supports this SDK's
// APIVersion, with an error that says what it supports when not.
func SupportsAPI(info Info) error {
	ok, err := Supports(info.APIVersions, APIVersion)
	if err != nil {
		return Errorf(ErrInvalid, "plugin %s: apiVersions: %v", info.ID, err)
	}
	if !ok {
		return Errorf(ErrInvalid, "plugin %s %s supports plugin API %s, not this Atrium's %s", info.ID, info.Version, info.APIVersions, APIVersion)
	}
	return nil
}

type semver [3]int

func parseVersion(s string) (semver, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i] // pre-release and build metadata are ignored
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return semver{}, fmt.Errorf("want MAJOR.MINOR.PATCH")
	}
	var v semver
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return semver{}, fmt.Errorf("%q is not a number", p)
		}
		v[i] = n
	}
	return v, nil
}

func (v semver) cmp(w semver) int {
	for i := range v {
		if v[i] != w[i] {
			if v[i] < w[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// partial parses "1", "1.2", "1.2.3", "1.x", "1.2.*"; n is how many
// parts were given as numbers.
func partial(s string) (semver, int, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	var v semver
	parts := strings.Split(s, ".")
	if len(parts) > 3 || s == "" {
		return v, 0, fmt.Errorf("%q is not a version", s)
	}
	n := 0
	for i, p := range parts {
		if p == "x" || p == "X" || p == "*" {
			break
		}
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return v, 0, fmt.Errorf("%q is not a version", s)
		}
		v[i] = x
		n++
	}
	return v, n, nil
}

func satisfiesAll(alt string, v semver) (bool, error) {
	fields := strings.FieldsFunc(alt, func(r rune) bool { return r == ' ' || r == ',' })
	if len(fields) == 0 {
		return false, fmt.Errorf("an empty alternative")
	}
	for _, f := range fields {
		ok, err := satisfies(f, v)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func satisfies(c string, v semver) (bool, error) {
	op := ""
	for _, o := range []string{">=", "<=", "!=", ">", "<", "=", "^", "~"} {
		if strings.HasPrefix(c, o) {
			op, c = o, c[len(o):]
			break
		}
	}
	w, n, err := partial(c)
	if err != nil {
		return false, err
	}
	// upper is the first version past what a partial version covers.
	upper := func() semver {
		switch n {
		case 0:
			return semver{1 << 30}
		case 1:
			return semver{w[0] + 1}
		case 2:
			return semver{w[0], w[1] + 1}
		}
		return semver{w[0], w[1], w[2] + 1}
	}
	switch op {
	case ">=":
		return v.cmp(w) >= 0, nil
	case ">":
		return v.cmp(upper()) >= 0, nil
	case "<":
		return v.cmp(w) < 0, nil
	case "<=":
		return v.cmp(upper()) < 0, nil
	case "!=":
		return v.cmp(w) < 0 || v.cmp(upper()) >= 0, nil
	case "^":
		hi := semver{w[0] + 1}
		if w[0] == 0 && n >= 2 {
			hi = semver{0, w[1] + 1}
		}
		return v.cmp(w) >= 0 && v.cmp(hi) < 0, nil
	case "~":
		hi := semver{w[0], w[1] + 1}
		if n <= 1 {
			hi = semver{w[0] + 1}
		}
		return v.cmp(w) >= 0 && v.cmp(hi) < 0, nil
	}
	// "=" or bare: within what the partial version covers.
	return v.cmp(w) >= 0 && v.cmp(upper()) < 0, nil
}
