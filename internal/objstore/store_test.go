package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"testing"
	"time"

	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
)

// The bundle engine declares these (as internal/bundle's Store and StoreFile); with File an alias
// of the same interface literal, BucketStore satisfies them without an import either way.
type (
	engineFile = interface {
		io.ReaderAt
		io.Closer
		Size() int64
	}
	engineStore interface {
		Open(name string) (engineFile, error)
	}
)

var _ engineStore = (*BucketStore)(nil)

func TestUploadThenReadBackThroughTheStore(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	const size = 100 << 20
	path := randomFile(t, size, 1)
	local, err := os.ReadFile(path)
	must(t, err)
	ctx := context.Background()

	start := time.Now()
	res, err := c.Upload(ctx, "bundles", "app/v1.tar", path)
	must(t, err)
	took := time.Since(start)
	t.Logf("uploaded %d MiB in %s (%.0f MiB/s, hashing included), %d-byte parts", size>>20, took.Round(time.Millisecond), float64(size>>20)/took.Seconds(), c.planParts(size).partSize)
	if res.Skipped || res.Sent != size || res.Resumed != 0 || res.SHA256 != fileSHA256(t, path) {
		t.Fatalf("result %+v", res)
	}

	store := c.Store("bundles").WithContext(ctx)
	f, err := store.Open("app/v1.tar")
	must(t, err)
	defer f.Close()
	if f.Size() != size {
		t.Fatalf("size %d", f.Size())
	}

	// A head read costs exactly the bytes asked for, in one request: no read-ahead.
	head := make([]byte, 10240)
	n, err := f.ReadAt(head, 0)
	must(t, err)
	if n != len(head) || !bytes.Equal(head, local[:len(head)]) {
		t.Fatalf("head: %d bytes, equal %v", n, bytes.Equal(head, local[:n]))
	}
	if store.Stats().Bytes() != int64(len(head)) || store.Stats().Requests() != 1 {
		t.Fatalf("reading the head fetched %d bytes in %d requests", store.Stats().Bytes(), store.Stats().Requests())
	}

	// Ranges anywhere, and the io.ReaderAt contract at the end.
	for _, r := range []struct{ off, n int64 }{{1, 1}, {size/2 - 3, 4097}, {size - 10, 10}} {
		p := make([]byte, r.n)
		if n, err := f.ReadAt(p, r.off); err != nil || !bytes.Equal(p[:n], local[r.off:r.off+r.n]) {
			t.Fatalf("range %d+%d: %d, %v", r.off, r.n, n, err)
		}
	}
	tail := make([]byte, 20)
	if n, err := f.ReadAt(tail, size-10); n != 10 || !errors.Is(err, io.EOF) || !bytes.Equal(tail[:10], local[size-10:]) {
		t.Fatalf("past the end: %d, %v", n, err)
	}
	if n, err := f.ReadAt(tail, size); n != 0 || err != io.EOF {
		t.Fatalf("at the end: %d, %v", n, err)
	}

	// The whole object in the engine's 1 MiB reads.
	before := store.Stats().Bytes()
	start = time.Now()
	got, err := io.ReadAll(io.NewSectionReader(f, 0, size))
	must(t, err)
	took = time.Since(start)
	t.Logf("read back %d MiB in 1 MiB ranged GETs (one connection each) in %s (%.0f MiB/s)", size>>20, took.Round(time.Millisecond), float64(size>>20)/took.Seconds())
	if !bytes.Equal(got, local) {
		t.Fatal("the object read back differs from the file")
	}
	if read := store.Stats().Bytes() - before; read != size {
		t.Fatalf("reading %d bytes fetched %d", size, read)
	}
}

func TestMissingObjectIsNotExist(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	must(t, c.EnsureBucket(context.Background(), "bundles"))
	for _, s := range []*BucketStore{c.Store("bundles"), c.Store("no-such-bucket")} {
		_, err := s.Open("absent.tar")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: got %v, want fs.ErrNotExist", s.bucket, err)
		}
		t.Log(err)
	}
}

func TestAReplacedObjectIsNotMixed(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	ctx := context.Background()
	_, err := c.Upload(ctx, "bundles", "b.tar", randomFile(t, 1<<20, 1))
	must(t, err)
	f, err := c.Store("bundles").Open("b.tar")
	must(t, err)
	_, err = c.Upload(ctx, "bundles", "b.tar", randomFile(t, 1<<20, 2))
	must(t, err)
	if _, err := f.ReadAt(make([]byte, 10), 0); !errors.Is(err, errChanged) {
		t.Fatalf("reading an object replaced after Open: %v", err)
	}
}

func TestAnUnreachableStoreIsAConnectionError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := newClient(t, addr, func(cfg *Config) { cfg.maxRetries = 1 })
	_, err = c.Store("bundles").Open("a.tar")
	if err == nil || !ConnectionError(err) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
	_, err = c.Upload(context.Background(), "bundles", "a.tar", randomFile(t, 10, 1))
	if !ConnectionError(err) {
		t.Fatalf("upload: %v", err)
	}
	if ConnectionError(fmt.Errorf("x: %w", fs.ErrNotExist)) {
		t.Fatal("not found is an answer, not a connection error")
	}
}
