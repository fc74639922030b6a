package bundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// sealedFixture builds a bundle whose file entry spans three seal chunks (the last one short),
// opens it unverified, and returns it with that entry and its bytes.
func sealedFixture(t *testing.T) (string, *Bundle, Entry, []byte) {
	t.Helper()
	f := newFixture(t)
	k := newKeyPair(t, "release")
	data := make([]byte, 2*SealChunk+12345)
	_, err := rand.Read(data)
	must(t, err)
	src := filepath.Join(f.dir, "big.bin")
	must(t, os.WriteFile(src, data, 0o644))
	spec := f.spec("bundle.tar")
	spec.Files = append(spec.Files, FileSpec{Name: "big.bin", Source: src})
	build(t, spec, k)
	b, err := Open(spec.Output, policyOf(k))
	must(t, err)
	t.Cleanup(func() { b.Close() })
	for _, fe := range b.BOM.Files {
		if fe.Name == "big.bin" {
			e, ok := b.BOM.EntryByPath(fe.Path)
			if !ok {
				t.Fatalf("no entry for %s", fe.Path)
			}
			return spec.Output, b, e, data
		}
	}
	t.Fatal("the bundle does not carry big.bin")
	return "", nil, Entry{}, nil
}

// flip inverts one byte of an entry's content in the bundle file.
func flip(t *testing.T, path string, b *Bundle, e Entry, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	buf := []byte{0}
	_, err = f.ReadAt(buf, b.EntryOffset(e)+at)
	must(t, err)
	buf[0] ^= 0xff
	_, err = f.WriteAt(buf, b.EntryOffset(e)+at)
	must(t, err)
}

func readAllChunks(s *EntrySeal) ([]byte, []error) {
	var out []byte
	var errs []error
	buf := make([]byte, SealChunk)
	for c := int64(0); c < s.Chunks(); c++ {
		chunk, err := s.ReadChunk(c, buf)
		errs = append(errs, err)
		out = append(out, chunk...)
	}
	return out, errs
}

func TestSealReadsBackWhatWasVerified(t *testing.T) {
	_, b, e, data := sealedFixture(t)
	if b.Seal(e) != nil || b.Sealed() {
		t.Fatal("a bundle that was never verified has a seal")
	}
	must(t, b.VerifyPayload(context.Background()))
	s := b.Seal(e)
	if !b.Sealed() {
		t.Fatal("Sealed is false after a verification that passed")
	}
	if s == nil || s.Chunks() != 3 {
		t.Fatalf("seal %+v, want one of 3 chunks", s)
	}
	got, errs := readAllChunks(s)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
	other := e
	other.Size++
	if b.Seal(other) != nil {
		t.Fatal("an entry that is not the BOM's has a seal")
	}
}

func TestSealRefusesAChangedByteInItsChunkOnly(t *testing.T) {
	path, b, e, _ := sealedFixture(t)
	must(t, b.VerifyPayload(context.Background()))
	flip(t, path, b, e, SealChunk+100) // in the second chunk, after verification
	_, errs := readAllChunks(b.Seal(e))
	var changed *ChangedError
	if errs[0] != nil || errs[2] != nil || !errors.As(errs[1], &changed) {
		t.Fatalf("want only the second chunk refused, got %v", errs)
	}
	if changed.Offset != SealChunk || changed.Length != SealChunk {
		t.Fatalf("the error names bytes %d+%d, want %d+%d", changed.Offset, changed.Length, SealChunk, SealChunk)
	}
}

func TestSealBindsEachChunkToItsPlace(t *testing.T) {
	path, b, e, data := sealedFixture(t)
	must(t, b.VerifyPayload(context.Background()))
	// Swap the first two chunks on disk: each is intact, but in the other's place.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	_, err = f.WriteAt(data[SealChunk:2*SealChunk], b.EntryOffset(e))
	must(t, err)
	_, err = f.WriteAt(data[:SealChunk], b.EntryOffset(e)+SealChunk)
	must(t, err)
	must(t, f.Close())
	_, errs := readAllChunks(b.Seal(e))
	var changed *ChangedError
	if !errors.As(errs[0], &changed) || !errors.As(errs[1], &changed) || errs[2] != nil {
		t.Fatalf("want both swapped chunks refused, got %v", errs)
	}
}

func TestFailedVerificationLeavesNoSeal(t *testing.T) {
	path, b, e, _ := sealedFixture(t)
	must(t, b.VerifyPayload(context.Background()))
	if b.Seal(e) == nil {
		t.Fatal("no seal after a verification that passed")
	}
	flip(t, path, b, e, 7)
	if err := b.VerifyPayload(context.Background()); err == nil {
		t.Fatal("a changed entry verified")
	}
	if b.Sealed() {
		t.Fatal("Sealed is true after the payload failed verification")
	}
	for _, x := range b.BOM.Entries {
		if b.Seal(x) != nil {
			t.Fatalf("entry %s kept a seal after the payload failed verification", x.Path)
		}
	}
}
