// Package minio runs the MinIO server, the real program, on 127.0.0.1 for tests.
package minio

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

// Root credentials of every test server.
const (
	AccessKey = "airgap-test"
	SecretKey = "airgap-test-secret"
)

// Server is a running MinIO server. Kill and Restart must be called from the test's goroutine.
type Server struct {
	Endpoint string // 127.0.0.1:PORT, the S3 API
	Dir      string // data directory, kept across restarts
	t        testing.TB
	bin      string
	console  int
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Start runs a server on free ports with its data in a temporary directory, stopped when the
// test ends. It returns once the server serves S3 requests.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", tools.FreePort(t)),
		Dir:      filepath.Join(dir, "data"),
		t:        t,
		bin:      tools.Path(t, "minio"),
		console:  tools.FreePort(t),
		logPath:  filepath.Join(dir, "minio.log"),
	}
	t.Cleanup(s.Kill)
	s.start()
	return s
}

// Kill stops the server at once (SIGKILL), as a crash would; the data directory stays.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart kills the server if it runs and starts it again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(s.bin, "server", "--quiet",
		"--address", s.Endpoint, "--console-address", fmt.Sprintf("127.0.0.1:%d", s.console), s.Dir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+AccessKey, "MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	// Live answers as soon as the HTTP server listens; cluster only once the object layer can
	// serve requests ("Server not initialized yet" before that).
	deadline := time.Now().Add(60 * time.Second)
	for _, check := range []string{"live", "cluster"} {
		for {
			resp, err := http.Get("http://" + s.Endpoint + "/minio/health/" + check)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				err = fmt.Errorf("/minio/health/%s: %s", check, resp.Status)
			}
			select {
			case <-exited:
				data, _ := os.ReadFile(s.logPath)
				s.cmd = nil
				s.t.Fatalf("minio exited while starting:\n%s", data)
			default:
			}
			if time.Now().After(deadline) {
				data, _ := os.ReadFile(s.logPath)
				s.t.Fatalf("minio did not become healthy in 60s: %v\n%s", err, data)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
