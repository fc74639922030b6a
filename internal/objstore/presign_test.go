package objstore

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
)

// The data client talks to MinIO directly (the "cluster-internal" endpoint); links are signed for
// a forwarder on another port (the "external" endpoint), and curl fetches them from there.
func TestPresignedLinkServesTheExactBytesFromTheExternalEndpoint(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	srv := miniotest.Start(t)
	external := startProxy(t, srv.Endpoint, 0)
	c := newClient(t, srv.Endpoint, func(cfg *Config) { cfg.PresignEndpoint = "http://" + external.Addr })
	ctx := context.Background()
	path := randomFile(t, 3<<20+17, 9)
	_, err = c.Upload(ctx, "bundles", "dir/app v1.tar", path)
	must(t, err)

	link, err := c.PresignGet(ctx, "bundles", "dir/app v1.tar", time.Minute)
	must(t, err)
	u, err := url.Parse(link)
	must(t, err)
	if u.Host != external.Addr {
		t.Fatalf("the link points at %s, not the external endpoint %s", u.Host, external.Addr)
	}
	fetch := func(link string) ([]byte, error) {
		out := filepath.Join(t.TempDir(), "got")
		cmd := exec.Command(curl, "--silent", "--show-error", "--fail", "--noproxy", "*", "--output", out, link)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: msg}
		}
		return os.ReadFile(out)
	}
	got, err := fetch(link)
	must(t, err)
	want, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("curl got %d bytes, not the %d uploaded", len(got), len(want))
	}
	if external.Conns.Load() == 0 {
		t.Fatal("curl did not go through the external endpoint")
	}

	// The host is signed: the same link aimed at the internal endpoint is refused, which is why
	// one client cannot serve both.
	u.Host = srv.Endpoint
	if _, err := fetch(u.String()); err == nil || !strings.Contains(string(err.(*exec.ExitError).Stderr), "403") {
		t.Fatalf("the link with another host: %v", err)
	}

	// The lifetime is honoured.
	short, err := c.PresignGet(ctx, "bundles", "dir/app v1.tar", time.Second)
	must(t, err)
	time.Sleep(2 * time.Second)
	if _, err := fetch(short); err == nil {
		t.Fatal("an expired link still works")
	}
	for _, bad := range []time.Duration{0, time.Millisecond, 8 * 24 * time.Hour} {
		if _, err := c.PresignGet(ctx, "bundles", "k", bad); err == nil {
			t.Errorf("lifetime %s accepted", bad)
		}
	}
}
