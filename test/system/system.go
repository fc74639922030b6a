// Package system gives tests the signed system bundle (scripts/system-bundle.sh): the in-cluster
// registry's image and the injectors, as an enclave receives them, and the key that signed it.
//
// AIRGAP_SYSTEM_BUNDLE names a bundle already built (CI's system phase builds one) and
// AIRGAP_SYSTEM_PUBKEY its public key; without them the script runs once per test process, into
// a temporary directory, signing with the development key it keeps in the cache. That takes
// seconds when the registry image is cached, and about ten minutes when it is not.
package system

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openairgap/terraform-provider-airgap/test/tools"
)

// Version is the version scripts/system-bundle.sh builds by default.
const Version = "0.1.0"

var (
	once          sync.Once
	built, pubKey string
	buildErr      error
	buildLog      []byte
)

// Bundle returns the path of the system bundle and of the public key that verifies it.
func Bundle(t testing.TB) (path, publicKey string) {
	t.Helper()
	if p := os.Getenv("AIRGAP_SYSTEM_BUNDLE"); p != "" {
		key := os.Getenv("AIRGAP_SYSTEM_PUBKEY")
		if key == "" {
			key = devKey()
		}
		return p, key
	}
	once.Do(func() {
		removeStale()
		dir, err := os.MkdirTemp("", stalePrefix)
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("bash", filepath.Join(tools.Root(), "scripts", "system-bundle.sh"), dir)
		cmd.Env = append(os.Environ(), "VERSION="+Version, "SYSTEM_SIGNING_KEY=")
		buildLog, buildErr = cmd.CombinedOutput()
		built, pubKey = filepath.Join(dir, "airgap-system-"+Version+".tar"), devKey()
	})
	if buildErr != nil {
		t.Fatalf("building the system bundle: %v\n%s", buildErr, buildLog)
	}
	return built, pubKey
}

const stalePrefix = "airgap-system-bundle-"

// removeStale deletes what earlier test processes built more than an hour ago.
func removeStale() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), stalePrefix+"*"))
	for _, dir := range old {
		if fi, err := os.Stat(dir); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(dir)
		}
	}
}

// devKey is the development release key scripts/system-bundle.sh signs with by default.
func devKey() string {
	cache := os.Getenv("AIRGAP_CACHE")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = filepath.Join(os.TempDir(), "cache")
		}
		cache = filepath.Join(base, "terraform-provider-airgap")
	}
	return filepath.Join(cache, "dev-release-key", "airgap-release.pub")
}
