package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// blobReader streams one blob from the bundle a chunk at a time, and hands out no byte of a chunk
// before the chunk is checked. next yields the checked chunks: sealedChunks when the bundle was
// verified in this process (the provider always verifies before it mirrors), hashedChunks
// otherwise.
type blobReader struct {
	next  func(buf []byte) ([]byte, error) // the next checked chunk; io.EOF after the last
	buf   *[]byte                          // where chunks are read, from chunkPool
	chunk []byte                           // what is left of the current chunk
	left  int64                            // blob bytes not yet read from the bundle
	read  *atomic.Int64
	err   error
	// done, if set, is called once the stream has ended: its last byte handed out, or failed,
	// or closed.
	done func()
	// mu guards against the transport closing the body from another goroutine while it reads.
	mu sync.Mutex
}

// chunkPool holds the buffers chunks are read into: one per streaming blob.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, bundle.SealChunk); return &b }}

func newBlobReader(next func([]byte) ([]byte, error), size int64, read *atomic.Int64) *blobReader {
	return &blobReader{next: next, left: size, read: read}
}

func (r *blobReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.ended()
	if r.err != nil {
		return 0, r.err
	}
	if len(r.chunk) == 0 {
		if r.buf == nil {
			r.buf = chunkPool.Get().(*[]byte)
		}
		chunk, err := r.next(*r.buf)
		if err != nil {
			r.err = err
			return 0, err
		}
		r.chunk = chunk
		r.left -= int64(len(chunk))
		r.read.Add(int64(len(chunk)))
	}
	n := copy(p, r.chunk)
	r.chunk = r.chunk[n:]
	return n, nil
}

// ended calls done and gives the buffer back once the stream can hand out no more bytes.
func (r *blobReader) ended() {
	if r.err == nil && (r.left > 0 || len(r.chunk) > 0) {
		return
	}
	if r.done != nil {
		r.done()
		r.done = nil
	}
	if r.buf != nil {
		chunkPool.Put(r.buf)
		r.buf, r.chunk = nil, nil
	}
}

// Close ends the stream; the HTTP transport calls it when it is done with the body, which may be
// after the request returned.
func (r *blobReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = io.ErrClosedPipe
	}
	r.ended()
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

// sealedChunks reads a blob of a verified bundle, each chunk checked against the seal its
// verification left: a changed byte is refused before any byte of its chunk is sent, at the cost
// of AES-GMAC rather than a second SHA-256 pass (see bundle.Seal).
func sealedChunks(s *bundle.EntrySeal, digest, what string) func([]byte) ([]byte, error) {
	var c int64
	return func(buf []byte) ([]byte, error) {
		if c == s.Chunks() {
			return nil, io.EOF
		}
		chunk, err := s.ReadChunk(c, buf)
		var changed *bundle.ChangedError
		if errors.As(err, &changed) {
			return nil, &DigestError{What: what, Want: digest, Changed: changed}
		}
		if err != nil {
			return nil, err
		}
		c++
		return chunk, nil
	}
}

// hashedChunks reads a blob from ra at off and hashes it with SHA-256 on the way; the last chunk
// comes only if the digest matches, so the registry never receives all the bytes it was promised
// and cannot commit the blob, whatever it checks itself.
func hashedChunks(ra io.ReaderAt, off, size int64, digest, what string) func([]byte) ([]byte, error) {
	h := sha256.New()
	end, checked := off+size, false
	verify := func() error {
		checked = true
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
			return &DigestError{What: what, Want: digest, Got: got}
		}
		return nil
	}
	return func(buf []byte) ([]byte, error) {
		if off == end {
			if !checked { // an empty blob
				if err := verify(); err != nil {
					return nil, err
				}
			}
			return nil, io.EOF
		}
		chunk := buf[:min(int64(len(buf)), end-off)]
		n, err := ra.ReadAt(chunk, off)
		if n < len(chunk) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%s: reading the bundle: %w", what, err)
		}
		h.Write(chunk)
		off += int64(n)
		if off == end {
			if err := verify(); err != nil {
				return nil, err // the last chunk is withheld
			}
		}
		return chunk, nil
	}
}

// DigestError is a blob whose bytes in the bundle are not the ones its digest names: the bundle
// changed after it was verified, or was never verified.
type DigestError struct {
	What      string
	Want, Got string
	// Changed, when the bundle was sealed by its verification, says which bytes changed; Got is
	// empty then, since no second SHA-256 is computed.
	Changed *bundle.ChangedError
}

func (e *DigestError) Error() string {
	if e.Changed != nil {
		return fmt.Sprintf("%s: bytes %d to %d of it changed in the bundle after it was verified against %s; nothing was tagged",
			e.What, e.Changed.Offset, e.Changed.Offset+e.Changed.Length, e.Want)
	}
	return fmt.Sprintf("%s: the bundle's bytes hash to %s, not %s: the bundle changed after it was verified; nothing was tagged", e.What, e.Got, e.Want)
}
