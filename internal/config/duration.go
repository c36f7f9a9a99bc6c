package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// humanUnits are the keys of Backstage's HumanDuration object.
var humanUnits = map[string]time.Duration{
	"years":        365 * 24 * time.Hour,
	"months":       30 * 24 * time.Hour,
	"weeks":        7 * 24 * time.Hour,
	"days":         24 * time.Hour,
	"hours":        time.Hour,
	"minutes":      time.Minute,
	"seconds":      time.Second,
	"milliseconds": time.Millisecond,
}

// duration reads a duration written as a HumanDuration object
// ({minutes: 30}), a Go duration ("90s", "1h30m") or an ISO 8601 duration
// ("PT30M").
func (d *decoder) duration(n *node, path string, out *time.Duration) {
	switch n.kind {
	case kindMap:
		var total time.Duration
		handlers := map[string]func(*node, string){}
		for unit, size := range humanUnits {
			handlers[unit] = func(v *node, p string) {
				var c int
				d.integer(v, p, 0, 1_000_000_000, &c)
				total += time.Duration(c) * size
			}
		}
		if d.fields(n, path, handlers) {
			if len(n.keys) == 0 {
				d.fail(n, path, "a duration object needs at least one of years, months, weeks, days, hours, minutes, seconds, milliseconds")
				return
			}
			*out = total
		}
	case kindScalar:
		v, err := parseDuration(n.text)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		*out = v
	default:
		d.fail(n, path, "must be a duration such as {minutes: 30}, \"30m\" or \"PT30M\", got %s", describe(n))
	}
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if v, err := time.ParseDuration(t); err == nil {
		if v < 0 {
			return 0, fmt.Errorf("must not be negative, got %q", s)
		}
		return v, nil
	}
	m := isoDuration.FindStringSubmatch(strings.ToUpper(t))
	if m == nil || t == "P" || strings.HasSuffix(strings.ToUpper(t), "T") {
		return 0, fmt.Errorf("must be a duration such as {minutes: 30}, \"30m\" or \"PT30M\", got %q", s)
	}
	units := []time.Duration{humanUnits["years"], humanUnits["months"], humanUnits["weeks"], humanUnits["days"], time.Hour, time.Minute}
	var total time.Duration
	for i, u := range units {
		if m[i+1] != "" {
			v, _ := strconv.Atoi(m[i+1])
			total += time.Duration(v) * u
		}
	}
	if m[7] != "" {
		f, _ := strconv.ParseFloat(m[7], 64)
		total += time.Duration(f * float64(time.Second))
	}
	return total, nil
}
