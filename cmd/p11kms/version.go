package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release version, set at link time with
// -ldflags "-X main.version=v1.2.3"; otherwise taken from the build info.
var version string

func init() {
	register(command{name: "version", summary: "print the version", run: runVersion})
}

// runVersion prints "p11kms VERSION (GOVERSION)".
func runVersion(args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: p11kms version")
		return 2
	}
	fmt.Fprintf(stdout, "p11kms %s (%s)\n", versionString(), runtime.Version())
	return 0
}

// versionString returns version, else the module version or VCS revision
// from the build info, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
