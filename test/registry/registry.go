// Package registry runs the CNCF Distribution registry, the real program, on 127.0.0.1 for
// tests.
package registry

import (
	"fmt"
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
	Host    string // 127.0.0.1:PORT
	Dir     string // its storage root
	bin     string
	cfgPath string
	cmd     *exec.Cmd
	log     *os.File
}

// Start runs a registry with filesystem storage in a temporary directory, stopped when the test
// ends.
func Start(t testing.TB) *Registry {
	t.Helper()
	dir := t.TempDir()
	return start(t, dir, fmt.Sprintf("filesystem: {rootdirectory: %s}", filepath.Join(dir, "data")))
}

// S3 says where a registry stores its data in an S3-compatible object store.
type S3 struct {
	Endpoint, Bucket, AccessKey, SecretKey string // Endpoint is host:port, plain HTTP
}

// StartS3 runs a registry whose storage is a bucket in an S3-compatible object store (MinIO in
// the tests), with redirects disabled so that clients never need to reach the store themselves.
// The bucket must exist.
func StartS3(t testing.TB, s S3) *Registry {
	t.Helper()
	return start(t, t.TempDir(), fmt.Sprintf(`s3: {region: us-east-1, regionendpoint: "http://%s", bucket: %s, accesskey: %s, secretkey: %s, forcepathstyle: true, secure: false}
  redirect: {disable: true}`, s.Endpoint, s.Bucket, s.AccessKey, s.SecretKey))
}

func start(t testing.TB, dir, storage string) *Registry {
	bin := tools.Path(t, "registry")
	port := tools.FreePort(t)
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  %s
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: 127.0.0.1:%d}
`, storage, port)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, bin: bin, cfgPath: cfgPath}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.log = log
	t.Cleanup(func() {
		r.Stop()
		log.Close()
	})
	r.launch(t)
	return r
}

// Stop kills the registry at once, as a crash would: uploads in flight are cut off.
func (r *Registry) Stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// Restart stops the registry if it runs and starts it again on the same address and storage.
func (r *Registry) Restart(t testing.TB) {
	t.Helper()
	r.Stop()
	r.launch(t)
}

func (r *Registry) launch(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command(r.bin, "serve", r.cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	// Distribution v3 exports OpenTelemetry traces to localhost:4318 unless told not to.
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(r.log.Name())
			t.Fatalf("registry did not start: %v\n%s", err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
