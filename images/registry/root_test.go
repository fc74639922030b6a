package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRootNotWritable runs the registry as 65532 on a directory that only root may write, as a
// hostPath volume is: it refuses to start and says what to do. After -prepare-root, run as root,
// the same directory serves.
func TestRootNotWritable(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run the registry as another user")
	}
	// Not t.TempDir: its parent is private to root.
	parent, err := os.MkdirTemp("", "registry-root-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "volume")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	asUser := func(args ...string) *exec.Cmd {
		cmd := exec.Command(registryBin, args...)
		cmd.Env = []string{"AIRGAP_REGISTRY_ROOT=" + root, "AIRGAP_REGISTRY_ADDR=127.0.0.1:0"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		return cmd
	}
	// The binary sits in a directory of the test's own: let user 65532 reach it.
	if err := os.Chmod(filepath.Dir(registryBin), 0o755); err != nil {
		t.Fatal(err)
	}

	out, err := asUser().CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("got %v, want exit status 1:\n%s", err, out)
	}
	for _, want := range []string{"filesystem root " + root + " is not writable by uid 65532 (gid 65532)", "permission denied", "registry -prepare-root 65532:65532"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	prep := func() *exec.Cmd { return exec.Command(registryBin, "-root", root, "-prepare-root", "65532:65532") }
	if out, err := prep().CombinedOutput(); err != nil || !strings.Contains(string(out), "now belongs to 65532:65532") {
		t.Fatalf("-prepare-root: %v\n%s", err, out)
	}
	if out, err := prep().CombinedOutput(); err != nil || !strings.Contains(string(out), "already belongs") {
		t.Fatalf("-prepare-root again: %v\n%s", err, out)
	}
	if out, err := exec.Command(registryBin, "-root", root, "-prepare-root", "x:1").CombinedOutput(); err == nil || !strings.Contains(string(out), "want UID:GID, numeric") {
		t.Errorf("-prepare-root x:1: %v\n%s", err, out)
	}
	// Now it serves, as 65532, on that directory.
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := asUser()
	cmd.Env = []string{"AIRGAP_REGISTRY_ROOT=" + root, "AIRGAP_REGISTRY_ADDR=" + addr}
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry does not serve after -prepare-root:\n%s", log.String())
		}
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
