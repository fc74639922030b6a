package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync/atomic"
	"testing"
)

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestBlobReaderWithholdsTheLastChunkOnAMismatch(t *testing.T) {
	data := bytes.Repeat([]byte("layer bytes "), 10000) // 120 kB, read 32 kB at a time
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
			r := newBlobReader(ra, 7, int64(len(data)), digestOf(data), "layer x", &read)
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
	r := newBlobReader(bytes.NewReader(nil), 0, 0, digestOf(nil), "empty", &read)
	if _, err := r.Read(nil); err != io.EOF {
		t.Fatalf("an empty blob with the right digest should end at once, got %v", err)
	}
	r = newBlobReader(bytes.NewReader(nil), 0, 0, digestOf([]byte("x")), "empty", &read)
	var de *DigestError
	if _, err := r.Read(nil); !errors.As(err, &de) {
		t.Fatalf("an empty blob with another digest must fail, got %v", err)
	}
}

func TestBlobReaderTruncatedBundle(t *testing.T) {
	var read atomic.Int64
	r := newBlobReader(bytes.NewReader([]byte("short")), 0, 100, digestOf(nil), "layer y", &read)
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("expected an unexpected EOF, got %v", err)
	}
}
