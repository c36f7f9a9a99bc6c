package pluginhost

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Platform is this process's platform key in an index ("linux-amd64").
var Platform = runtime.GOOS + "-" + runtime.GOARCH

// Compatible returns the entry's releases that support plugin-API version
// api and ship an executable for platform, newest first.
func (e *Entry) Compatible(api *semver.Version, platform string) []*Release {
	var out []*Release
	for i := range e.Versions {
		r := &e.Versions[i]
		if _, ok := r.Platforms[platform]; ok && r.Supports(api) {
			out = append(out, r)
		}
	}
	return out
}

// LatestRelease returns when the entry was last released.
func (e *Entry) LatestRelease() time.Time {
	var t time.Time
	for _, r := range e.Versions {
		if r.ReleasedAt.After(t) {
			t = r.ReleasedAt
		}
	}
	return t
}

// Unmaintained reports whether the entry had no release within after.
func (e *Entry) Unmaintained(now time.Time, after time.Duration) bool {
	return after > 0 && now.Sub(e.LatestRelease()) > after
}

// IncompatibleError refuses a release that does not support this Atrium's
// plugin-API version, naming the releases that would.
type IncompatibleError struct {
	ID, Version, APIVersions, HostAPI, Platform string
	// MissingPlatform is set when the release supports the API but ships
	// no executable for Platform.
	MissingPlatform bool
	// WouldWork are the versions that would install here, newest first.
	WouldWork []string
}

func (e *IncompatibleError) Error() string {
	var b strings.Builder
	if e.MissingPlatform {
		fmt.Fprintf(&b, "%s %s has no executable for %s", e.ID, e.Version, e.Platform)
	} else {
		fmt.Fprintf(&b, "%s %s supports plugin API %s, but this Atrium speaks plugin API %s", e.ID, e.Version, e.APIVersions, e.HostAPI)
	}
	if len(e.WouldWork) == 0 {
		fmt.Fprintf(&b, "; no version of %s works with this Atrium (plugin API %s, %s)", e.ID, e.HostAPI, e.Platform)
	} else {
		fmt.Fprintf(&b, "; versions that would work: %s", strings.Join(e.WouldWork, ", "))
	}
	return b.String()
}

// checkRelease returns nil when r can be installed here, else an
// *IncompatibleError.
func checkRelease(e *Entry, r *Release, api *semver.Version, platform string) error {
	_, hasPlatform := r.Platforms[platform]
	if r.Supports(api) && hasPlatform {
		return nil
	}
	ie := &IncompatibleError{ID: e.ID, Version: r.Version, APIVersions: r.APIVersions, HostAPI: api.String(),
		Platform: platform, MissingPlatform: r.Supports(api)}
	for _, c := range e.Compatible(api, platform) {
		ie.WouldWork = append(ie.WouldWork, c.Version)
	}
	return ie
}

// Matrix is the compatibility matrix of a plugin: its versions (rows)
// against plugin-API versions (columns).
type Matrix struct {
	// APIVersions are the columns; Current is the index of this Atrium's.
	APIVersions []string    `json:"apiVersions"`
	Current     int         `json:"current"`
	Rows        []MatrixRow `json:"rows"`
}

// MatrixRow is one plugin version.
type MatrixRow struct {
	Version     string    `json:"version"`
	APIVersions string    `json:"apiRange"`
	ReleasedAt  time.Time `json:"releasedAt"`
	// Supported[i] says whether the version supports APIVersions[i].
	Supported []bool `json:"supported"`
	// Platform says whether it ships an executable for this platform.
	Platform bool `json:"platform"`
}

// MatrixFor builds the matrix of e. The columns are this Atrium's plugin-API
// version and the first release of every major version up to the next one,
// so that an operator sees what survives an Atrium upgrade.
func MatrixFor(e *Entry, api *semver.Version, platform string) Matrix {
	cols := []*semver.Version{api}
	for major := uint64(1); major <= api.Major()+1; major++ {
		v := semver.New(major, 0, 0, "", "")
		if !v.Equal(api) {
			cols = append(cols, v)
		}
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].LessThan(cols[j]) })
	m := Matrix{}
	for i, c := range cols {
		m.APIVersions = append(m.APIVersions, c.String())
		if c.Equal(api) {
			m.Current = i
		}
	}
	for i := range e.Versions {
		r := &e.Versions[i]
		row := MatrixRow{Version: r.Version, APIVersions: r.APIVersions, ReleasedAt: r.ReleasedAt}
		_, row.Platform = r.Platforms[platform]
		for _, c := range cols {
			row.Supported = append(row.Supported, r.Supports(c))
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}
