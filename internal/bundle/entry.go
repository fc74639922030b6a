package bundle

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
)

// OpenEntry streams one payload entry, hashing it as it is read: at its end, Read returns an
// error instead of io.EOF if the bytes differ from the signed BOM, so a consumer never completes
// on bytes the BOM does not vouch for.
func (b *Bundle) OpenEntry(path string) (io.Reader, Entry, error) {
	e, ok := b.BOM.EntryByPath(path)
	if !ok {
		return nil, Entry{}, fmt.Errorf("the bundle has no entry %s", path)
	}
	return &verifyingReader{
		r: io.NewSectionReader(b.data, b.size+e.Offset+blockSize, e.Size),
		h: sha256.New(), want: e.SHA256, what: b.describe(path),
	}, e, nil
}

// ReadEntry reads a whole entry of at most limit bytes, checked against the BOM.
func (b *Bundle) ReadEntry(path string, limit int64) ([]byte, error) {
	r, e, err := b.OpenEntry(path)
	if err != nil {
		return nil, err
	}
	if e.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d-byte limit", b.describe(path), e.Size, limit)
	}
	buf := make([]byte, e.Size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if _, err := r.Read(nil); err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// ReaderAt exposes the bundle's bytes by stream offset, for consumers that check digests
// themselves (blobs pushed to a registry are checked there too).
func (b *Bundle) ReaderAt() io.ReaderAt { return b.data }

// EntryOffset is where an entry's content starts in the stream ReaderAt reads.
func (b *Bundle) EntryOffset(e Entry) int64 { return b.size + e.Offset + blockSize }

type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	what string
	done bool
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF && !v.done {
		v.done = true
		if got := hexOf(v.h); got != v.want {
			return n, fmt.Errorf("%s: content does not match the signed BOM (sha256 %s, BOM says %s)", v.what, got, v.want)
		}
	}
	return n, err
}

// ReadLocalEntry reads one entry of a local bundle, checked against its BOM, without judging
// signatures: for the builder, which has just written the bundle and publishes parts of it.
func ReadLocalEntry(path, entry string, limit int64) ([]byte, error) {
	b, err := openUnjudged(LocalFiles, path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return b.ReadEntry(entry, limit)
}

// openUnjudged opens a bundle and checks its head and file sizes, without judging its
// signatures: OpenFrom judges them next; the builder and the re-signer hash what they read
// against the BOM.
func openUnjudged(store Store, path string) (*Bundle, error) {
	files, names, err := locate(store, path)
	if err != nil {
		return nil, err
	}
	head, err := readHead(files[0], names[0])
	if err != nil {
		closeAll(files)
		return nil, err
	}
	data, err := newStream(files, names, &head)
	if err != nil {
		closeAll(files)
		return nil, err
	}
	return &Bundle{Head: head, Files: names, data: data}, nil
}
