package objstore

import (
	"context"
	"strings"
	"testing"
	"time"

	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
)

// A store that drops connections idle for 200ms (the proxy), and an upload that pauses 300ms
// before each part: every part would go out on a connection the server has given up on.
func TestMultipartUploadSurvivesAStoreClosingIdleConnections(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	const size = 16 << 20 // four parts of 5 MiB (the last one 1 MiB)
	path := randomFile(t, size, 5)
	upload := func(edit func(*Config)) (*idleProxy, error) {
		proxy := startProxy(t, srv.Endpoint, 200*time.Millisecond)
		c := newClient(t, proxy.Addr, func(cfg *Config) {
			cfg.maxRetries = 1 // no second chance from minio-go: the transport alone must hold
			if edit != nil {
				edit(cfg)
			}
		})
		c.tune.partSize, c.tune.workers = 5<<20, 1
		c.tune.beforePart = func(int) { time.Sleep(300 * time.Millisecond) }
		key := "idle.tar"
		if edit != nil {
			key = "control.tar"
		}
		_, err := c.Upload(ctx, "bundles", key, path)
		return proxy, err
	}

	// The control: with keep-alives, as net/http has them by default, the first part goes into a
	// dead connection and the upload fails. This proves the proxy can catch the fault.
	proxy, err := upload(func(cfg *Config) { cfg.keepAlive = true })
	if err == nil {
		t.Fatal("the control upload, with keep-alives, succeeded: the proxy does not reproduce the fault")
	}
	if proxy.Resets.Load() == 0 || !strings.Contains(err.Error(), "part 1 of 4") {
		t.Fatalf("the control failed otherwise than expected (%d resets): %v", proxy.Resets.Load(), err)
	}
	t.Logf("control, keep-alives on: %v", err)

	// The client as New builds it: one connection per request, none ever idle.
	proxy, err = upload(nil)
	if err != nil {
		t.Fatalf("through a store that closes idle connections: %v", err)
	}
	if proxy.Resets.Load() != 0 {
		t.Fatalf("%d requests were sent on idle connections", proxy.Resets.Load())
	}
	c := newClient(t, srv.Endpoint, nil)
	if sum, n := objectSHA256(t, c, "bundles", "idle.tar"); n != size || sum != fileSHA256(t, path) {
		t.Fatalf("the object holds %d bytes, sha256 %s", n, sum)
	}
	t.Logf("keep-alives off: %d connections for the whole upload, none reset", proxy.Conns.Load())
}
