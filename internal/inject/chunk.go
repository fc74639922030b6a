package inject

import (
	"errors"
	"fmt"
	"io"
	"iter"
)

const (
	// DefaultChunkSize is Zarf's choice: base64-encoded (as kubectl and the
	// API's JSON carry binaryData) a chunk is 683 KiB, far below the 1 MiB
	// a ConfigMap may hold.
	DefaultChunkSize = 512 << 10
	// MaxChunkSize is the largest chunk whose base64 form still fits in 1 MiB.
	MaxChunkSize = 768 << 10
	// MaxChunks matches the five digits of chunk-NNNNN that the injector reads.
	MaxChunks = 100000
)

// Chunk is one piece of a payload, stored as one ConfigMap key.
type Chunk struct {
	Index int
	Name  string // chunk-00000, chunk-00001, ...
	Data  []byte // a fresh slice for every chunk, safe to keep
}

// ChunkName returns the file name the injector expects for chunk i.
func ChunkName(i int) string {
	return fmt.Sprintf("chunk-%05d", i)
}

// Chunks splits the payload read from r into chunks of chunkSize bytes (the
// last one shorter), in order. A chunkSize of 0 means DefaultChunkSize.
// An empty payload, a chunkSize out of range, more than MaxChunks chunks or
// a read error is yielded as an error, after which the sequence stops.
func Chunks(r io.Reader, chunkSize int) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		size, err := checkChunkSize(chunkSize)
		if err != nil {
			yield(Chunk{}, err)
			return
		}
		for i := 0; ; i++ {
			buf := make([]byte, size)
			n, err := io.ReadFull(r, buf)
			if n == 0 && (errors.Is(err, io.EOF)) {
				if i == 0 {
					yield(Chunk{}, errors.New("payload is empty"))
				}
				return
			}
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				yield(Chunk{}, fmt.Errorf("reading chunk %d: %w", i, err))
				return
			}
			if i >= MaxChunks {
				yield(Chunk{}, fmt.Errorf("payload needs more than %d chunks of %d bytes", MaxChunks, size))
				return
			}
			if !yield(Chunk{Index: i, Name: ChunkName(i), Data: buf[:n]}, nil) {
				return
			}
			if n < size {
				return
			}
		}
	}
}

func checkChunkSize(chunkSize int) (int, error) {
	switch {
	case chunkSize == 0:
		return DefaultChunkSize, nil
	case chunkSize < 0 || chunkSize > MaxChunkSize:
		return 0, fmt.Errorf("chunk size %d: want 1 to %d bytes", chunkSize, MaxChunkSize)
	}
	return chunkSize, nil
}
