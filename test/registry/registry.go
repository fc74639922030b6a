// Package registry runs the CNCF Distribution registry, the real program, on 127.0.0.1 for
// tests.
package registry

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/openairgap/terraform-provider-airgap/test/tools"
)

// Registry is a running Distribution registry.
type Registry struct {
	Host string // 127.0.0.1:PORT
	Dir  string // its storage root
	cmd  *exec.Cmd
}

// Start runs a registry with filesystem storage in a temporary directory, stopped when the test
// ends.
func Start(t testing.TB) *Registry {
	t.Helper()
	bin := tools.Path(t, "registry")
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: %s}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: 127.0.0.1:%d}
`, filepath.Join(dir, "data"), port)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		log.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(log.Name())
			t.Fatalf("registry did not start: %v\n%s", err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
