package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// blobReader streams one blob straight from the bundle and hashes it on the way. Each Read
// fills the caller's buffer from the bundle and hashes it there: the HTTP transport reads in
// small chunks, so the bytes are still in the CPU cache when they are hashed and sent, and are
// never copied through a buffer of ours. The read that reaches the end of the blob checks the
// digest before it returns: on a mismatch it hands out no byte of that last chunk, so the
// registry never receives all the bytes it was promised and cannot commit the blob, whatever it
// checks itself.
type blobReader struct {
	ra              io.ReaderAt
	start, off, end int64
	h               hash.Hash
	want            string // hex
	what            string
	read            *atomic.Int64
	err             error
	// mu guards against the transport closing the body from another goroutine while it reads.
	mu sync.Mutex
}

func newBlobReader(ra io.ReaderAt, off, size int64, digest, what string, read *atomic.Int64) *blobReader {
	return &blobReader{
		ra: ra, start: off, off: off, end: off + size, h: sha256.New(), want: digest[len("sha256:"):], what: what,
		read: read,
	}
}

func (r *blobReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	if r.off >= r.end {
		r.err = r.verify() // only an empty blob gets here unverified; verifying twice is harmless
		return 0, r.err
	}
	chunk := p[:min(int64(len(p)), r.end-r.off)]
	n, err := r.ra.ReadAt(chunk, r.off)
	if n < len(chunk) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = fmt.Errorf("%s: reading the bundle: %w", r.what, err)
		return 0, r.err
	}
	r.h.Write(chunk)
	r.off += int64(n)
	r.read.Add(int64(n))
	if r.off == r.end {
		if err := r.verify(); err != io.EOF {
			r.err = err
			return 0, err // the last chunk is withheld
		}
	}
	return n, nil
}

// verify compares the hash of everything read with the digest: io.EOF when they match.
func (r *blobReader) verify() error {
	if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want {
		return &DigestError{What: r.what, Want: "sha256:" + r.want, Got: "sha256:" + got}
	}
	return io.EOF
}

// Close ends the stream; the HTTP transport calls it when it is done with the body, which may be
// after the request returned.
func (r *blobReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = io.ErrClosedPipe
	}
	return nil
}

// failure is the error that stopped the stream, if any: the transport reports a body error
// wrapped in its own words.
func (r *blobReader) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == io.EOF || r.err == io.ErrClosedPipe {
		return nil
	}
	return r.err
}

// DigestError is a blob whose bytes in the bundle do not match its digest: the bundle changed
// after it was verified, or was never verified.
type DigestError struct {
	What      string
	Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: the bundle's bytes hash to %s, not %s: the bundle changed after it was verified; nothing was tagged", e.What, e.Got, e.Want)
}
