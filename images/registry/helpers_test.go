package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/openairgap/terraform-provider-airgap/images/registry/internal/imagebuild"
)

// registryBin is the registry binary taken out of the image the build program writes, for this
// machine's platform: the tests run exactly what a node would.
var registryBin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "registry-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if registryBin, err = buildBinary(dir); err != nil {
			fmt.Fprintln(os.Stderr, "building the registry image:", err)
			return 1
		}
		return m.Run()
	}())
}

func buildBinary(dir string) (string, error) {
	platform := "linux/" + runtime.GOARCH
	out := filepath.Join(dir, "layout")
	if _, err := imagebuild.Build(context.Background(), imagebuild.Options{
		Source: ".", Version: "test", Out: out, Platforms: []string{platform},
	}); err != nil {
		return "", err
	}
	bin, err := imagebuild.Binary(out, platform)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "registry")
	return path, os.WriteFile(path, bin, 0o755)
}

// registry is a running registry process.
type registry struct {
	addr string // 127.0.0.1:PORT
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

// startRegistry runs the binary with these AIRGAP_REGISTRY_* settings (and nothing else from
// the environment) on a free port, and waits until /healthz answers. scheme is http or https;
// client is used for the health check. The process is stopped with SIGTERM at the end of the
// test, which must make it exit 0.
func startRegistry(t *testing.T, env map[string]string, scheme string, client *http.Client) *registry {
	t.Helper()
	r := &registry{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), out: &syncBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(registryBin)
	r.cmd.Env = []string{"AIRGAP_REGISTRY_ADDR=" + r.addr}
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		// A connection the client opened but never used is not idle to the server for 5 s
		// (net/http, golang/go#22682), which would hold up the drain: close them first.
		for _, tr := range []http.RoundTripper{client.Transport, http.DefaultTransport, remote.DefaultTransport} {
			if c, ok := tr.(interface{ CloseIdleConnections() }); ok {
				c.CloseIdleConnections()
			}
		}
		r.stop(t)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + r.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("the registry exited while starting (%v):\n%s", err, r.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not answer /healthz in 30s:\n%s", r.out)
		}
	}
}

func (r *registry) stop(t *testing.T) {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("the registry did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		t.Errorf("the registry did not stop within 30s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("registry output, last lines:\n%s", r.out.tail(30))
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

// syncBuffer collects a child's output, written from its own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

func (b *syncBuffer) tail(n int) string {
	lines := strings.Split(b.String(), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
