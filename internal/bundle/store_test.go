package bundle

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// countingStore serves files from memory and counts the bytes read, as an object store would
// bill ranged reads.
type countingStore struct {
	files map[string][]byte
	read  atomic.Int64
}

type countingFile struct {
	r    *bytes.Reader
	read *atomic.Int64
}

func (s *countingStore) Open(name string) (StoreFile, error) {
	data, ok := s.files[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return countingFile{bytes.NewReader(data), &s.read}, nil
}

func (f countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	f.read.Add(int64(n))
	return n, err
}
func (f countingFile) Size() int64  { return f.r.Size() }
func (f countingFile) Close() error { return nil }

func TestSignatureIsCheckedBeforeAnyPayloadByteIsRead(t *testing.T) {
	f := newFixture(t)
	vendor, stranger := newKeyPair(t, "vendor"), newKeyPair(t, "stranger")
	spec := f.spec("remote.tar")
	build(t, spec, vendor)
	data, err := os.ReadFile(spec.Output)
	must(t, err)
	head := headOf(t, spec.Output)

	store := &countingStore{files: map[string][]byte{"bucket/remote.tar": data}}
	if _, err := OpenFrom(store, "bucket/remote.tar", policyOf(stranger)); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("wrong key: %v", err)
	}
	if got := store.read.Load(); got > head.size {
		t.Fatalf("rejecting the signature read %d bytes; the head is %d", got, head.size)
	}

	store.read.Store(0)
	b, err := OpenFrom(store, "bucket/remote.tar", policyOf(vendor))
	must(t, err)
	defer b.Close()
	if got := store.read.Load(); got > head.size {
		t.Fatalf("opening read %d bytes, more than the %d-byte head", got, head.size)
	}
	must(t, b.VerifyPayload(context.Background()))
	if got := store.read.Load(); got < int64(len(data))-trailerSize {
		t.Fatalf("verification read only %d of %d bytes", got, len(data))
	}
	if _, err := OpenFrom(store, "bucket/absent.tar", policyOf(vendor)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("absent object: %v", err)
	}
}
