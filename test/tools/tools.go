// Package tools finds the third-party programs the tests run for real, built and cached by
// scripts/tools.sh from the Go module proxy.
package tools

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Path returns the cached binary for a pinned tool, building it if needed. When the tool cannot
// be had, the test is skipped, unless AIRGAP_REQUIRE_TOOLS=1 (CI sets it), where it fails.
func Path(t testing.TB, name string) string {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(Root(), "scripts", "tools.sh"), "path", name).Output()
	if err != nil {
		msg := "tool " + name + " is not available (scripts/tools.sh path " + name + "): " + err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += "\n" + string(ee.Stderr)
		}
		if os.Getenv("AIRGAP_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.TrimSpace(string(out))
}

// Root is the repository's top directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
