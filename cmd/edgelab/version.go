package main

import (
	"runtime/debug"
	"strings"
)

// version describes this binary from its build information: the module
// version ("(devel)" when built from a checkout, the tag under `go
// install …@vX`), the VCS revision and commit time when the build had
// them (with "+dirty" for uncommitted changes), and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	parts := []string{bi.Main.Version}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		vcs := "revision " + rev
		if at != "" {
			vcs += ", " + at
		}
		parts = append(parts, "("+vcs+")")
	}
	parts = append(parts, bi.GoVersion)
	return strings.Join(parts, " ")
}
