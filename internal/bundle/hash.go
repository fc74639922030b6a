package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func digestOf(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

func hexOf(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// copyBufSize is the unit of reads and writes while streaming entries.
const copyBufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// asyncHasher hashes a stream on its own goroutine, so that a second digest of the same bytes
// runs on the other core instead of doubling the time of the copy loop.
type asyncHasher struct {
	h    hash.Hash
	work chan *[]byte
	done chan struct{}
}

func newAsyncHasher() *asyncHasher {
	a := &asyncHasher{h: sha256.New(), work: make(chan *[]byte, 8), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for b := range a.work {
			a.h.Write(*b)
			*b = (*b)[:cap(*b)]
			bufPool.Put(b)
		}
	}()
	return a
}

// Write copies p and queues it; it never fails.
func (a *asyncHasher) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		b := bufPool.Get().(*[]byte)
		n := copy(*b, rest)
		*b = (*b)[:n]
		a.work <- b
		rest = rest[n:]
	}
	return len(p), nil
}

// Sum waits for every queued byte and returns the hex digest; the hasher cannot be used after.
func (a *asyncHasher) Sum() string {
	close(a.work)
	<-a.done
	return hexOf(a.h)
}
