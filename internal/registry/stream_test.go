package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestBlobReaderWithholdsTheLastChunkOnAMismatch(t *testing.T) {
	data := bytes.Repeat([]byte("layer bytes "), 200000) // 2.4 MB: three chunks, read 32 kB at a time
	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 1
	for _, tc := range []struct {
		name   string
		bundle []byte
		ok     bool
	}{{"intact", data, true}, {"changed", bad, false}} {
		t.Run(tc.name, func(t *testing.T) {
			var read atomic.Int64
			// The blob sits at offset 7 of the "bundle".
			ra := bytes.NewReader(append([]byte("header."), tc.bundle...))
			r := newBlobReader(hashedChunks(ra, 7, int64(len(data)), digestOf(data), "layer x"), int64(len(data)), &read)
			var got bytes.Buffer
			_, err := io.CopyBuffer(&got, struct{ io.Reader }{r}, make([]byte, 32<<10))
			if tc.ok {
				must(t, err)
				if !bytes.Equal(got.Bytes(), data) || read.Load() != int64(len(data)) {
					t.Fatalf("streamed %d bytes (read %d), want %d", got.Len(), read.Load(), len(data))
				}
				return
			}
			var de *DigestError
			if !errors.As(err, &de) || de.Want != digestOf(data) {
				t.Fatalf("expected a DigestError, got %v", err)
			}
			if got.Len() >= len(data) {
				t.Fatalf("all %d bytes were handed out before the digest failed", got.Len())
			}
		})
	}
}

func TestBlobReaderEmptyBlob(t *testing.T) {
	var read atomic.Int64
	r := newBlobReader(hashedChunks(bytes.NewReader(nil), 0, 0, digestOf(nil), "empty"), 0, &read)
	if _, err := r.Read(nil); err != io.EOF {
		t.Fatalf("an empty blob with the right digest should end at once, got %v", err)
	}
	r = newBlobReader(hashedChunks(bytes.NewReader(nil), 0, 0, digestOf([]byte("x")), "empty"), 0, &read)
	var de *DigestError
	if _, err := r.Read(nil); !errors.As(err, &de) {
		t.Fatalf("an empty blob with another digest must fail, got %v", err)
	}
}

func TestBlobReaderTruncatedBundle(t *testing.T) {
	var read atomic.Int64
	r := newBlobReader(hashedChunks(bytes.NewReader([]byte("short")), 0, 100, digestOf(nil), "layer y"), 100, &read)
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("expected an unexpected EOF, got %v", err)
	}
}

// A verified bundle's blob streams through its seal byte for byte, and the stream says it has
// ended (giving its streaming slot back) when the last byte is handed out, before the EOF.
func TestBlobReaderSealedStreamEndsWithItsLastByte(t *testing.T) {
	b := openSample(t)
	e, ok := b.BOM.EntryByPath(bundle.BlobPath(largestLayer(b)))
	if !ok {
		t.Fatal("no largest layer")
	}
	want, err := b.ReadEntry(e.Path, e.Size)
	must(t, err)
	s := b.Seal(e)
	if s == nil {
		t.Fatal("a verified bundle has no seal")
	}
	var read atomic.Int64
	ends := 0
	r := newBlobReader(sealedChunks(s, "sha256:"+e.SHA256, "layer"), e.Size, &read)
	r.done = func() { ends++ }
	var got bytes.Buffer
	p := make([]byte, 32<<10)
	for got.Len() < len(want) {
		if ends != 0 {
			t.Fatalf("the stream ended after %d of %d bytes", got.Len(), len(want))
		}
		n, err := r.Read(p)
		must(t, err)
		got.Write(p[:n])
	}
	if ends != 1 {
		t.Fatalf("the stream ended %d times once its last byte was out, want 1", ends)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("after the last byte: %d, %v", n, err)
	}
	r.Close()
	if ends != 1 || !bytes.Equal(got.Bytes(), want) || read.Load() != e.Size {
		t.Fatalf("ends %d, %d bytes read, content equal %v", ends, read.Load(), bytes.Equal(got.Bytes(), want))
	}
}

func TestBlobReaderClosedEarlyEndsOnce(t *testing.T) {
	var read atomic.Int64
	data := bytes.Repeat([]byte("x"), 3<<20)
	r := newBlobReader(hashedChunks(bytes.NewReader(data), 0, int64(len(data)), digestOf(data), "layer"), int64(len(data)), &read)
	ends := 0
	r.done = func() { ends++ }
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	if ends != 1 || r.failure() != nil {
		t.Fatalf("ends %d, failure %v", ends, r.failure())
	}
	if _, err := r.Read(make([]byte, 10)); err != io.ErrClosedPipe {
		t.Fatalf("a read after Close: %v", err)
	}
}
