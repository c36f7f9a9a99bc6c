package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildVersion and buildCommit are set at link time:
// -ldflags "-X main.buildVersion=v1.2.3 -X main.buildCommit=$(git rev-parse HEAD)".
// Without them the module version and the VCS revision that `go build`
// records are used.
var (
	buildVersion = ""
	buildCommit  = ""
)

// buildInfo returns the version and the commit of this binary ("devel"
// and "" when unknown).
func buildInfo() (version, commit string) {
	version, commit = buildVersion, buildCommit
	if info, ok := debug.ReadBuildInfo(); ok {
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
			if s.Key == "vcs.modified" && s.Value == "true" && commit != "" && buildCommit == "" {
				commit += "-dirty"
			}
		}
	}
	if version == "" {
		version = "devel"
	}
	return version, commit
}

// versionString is the version recorded in backups and metrics.
func versionString() string {
	v, _ := buildInfo()
	return v
}

// version prints the version, the commit and the Go version.
func version(w io.Writer) error {
	v, commit := buildInfo()
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(w, "atrium %s\ncommit %s\n%s %s/%s\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
