package bundle

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// A seal lets a consumer read an entry again after VerifyPayload and know that the bytes are
// still the ones that matched the signed BOM, without hashing SHA-256 a second time.
//
// While VerifyPayload hashes an entry, it also computes an AES-GMAC tag (NIST SP 800-38D) of each
// SealChunk bytes of its content, under a key drawn at random for that verification and kept only
// in this process's memory. A later read checks each chunk against its tag before handing any
// byte of it out. Someone who changes the file in between cannot forge a tag without the key, so
// changed bytes fail just as they would fail SHA-256. GMAC runs at several times the speed of
// SHA-256 (it uses the CPU's carry-less multiply), which is what lets the mirror stream verified
// blobs at the cost of reading and sending them; DESIGN.md has the figures.
//
// The tags are published only when the whole payload verified: a bundle that failed verification
// has no seal, and its consumers fall back to hashing (and fail there).
type seal struct {
	key   []byte
	index map[string]int // entry path -> its position in BOM.Entries, which is part of the nonce
	tags  [][]tag        // by entry position, one per chunk
}

// SealChunk is the unit a seal covers: VerifyPayload reads entries in these units.
const SealChunk = copyBufSize

type tag [16]byte

func newSeal(entries []Entry) (*seal, error) {
	s := &seal{key: make([]byte, 32), index: make(map[string]int, len(entries)), tags: make([][]tag, len(entries))}
	if _, err := rand.Read(s.key); err != nil {
		return nil, fmt.Errorf("drawing a key to seal the verified payload: %w", err)
	}
	for i, e := range entries {
		s.index[e.Path] = i
		s.tags[i] = make([]tag, chunks(e.Size))
	}
	return s, nil
}

func chunks(size int64) int64 { return (size + SealChunk - 1) / SealChunk }

// gmac is one user's AES-GMAC under the seal's key. Each goroutine makes its own.
func (s *seal) gmac() cipher.AEAD {
	block, err := aes.NewCipher(s.key)
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // AES has GCM's block size
	}
	return g
}

// tagOf authenticates chunk c of entry i. The nonce is (entry position, chunk number): unique
// under the key, and it binds each chunk to its place, so chunks cannot be swapped or moved.
// GMAC also covers the length, so a chunk cannot be cut short.
func tagOf(g cipher.AEAD, entry int, c int64, chunk []byte) tag {
	var nonce [12]byte
	binary.BigEndian.PutUint32(nonce[:4], uint32(entry))
	binary.BigEndian.PutUint64(nonce[4:], uint64(c))
	var t tag
	g.Seal(t[:0], nonce[:], nil, chunk)
	return t
}

// EntrySeal reads one verified entry back, chunk by chunk, checked against its seal.
type EntrySeal struct {
	b     *Bundle
	e     Entry
	entry int
	tags  []tag
	g     cipher.AEAD
}

// Seal returns the seal VerifyPayload left on entry e, or nil if this Bundle value has not
// verified its payload (or e is not one of its entries). An EntrySeal is for one goroutine.
func (b *Bundle) Seal(e Entry) *EntrySeal {
	s := b.seal
	if s == nil {
		return nil
	}
	i, ok := s.index[e.Path]
	if !ok || b.BOM.Entries[i] != e {
		return nil
	}
	return &EntrySeal{b: b, e: e, entry: i, tags: s.tags[i], g: s.gmac()}
}

// Sealed reports whether this Bundle value verified its payload, so that its entries have seals.
func (b *Bundle) Sealed() bool { return b.seal != nil }

// Chunks is how many chunks the entry's content has.
func (s *EntrySeal) Chunks() int64 { return int64(len(s.tags)) }

// ReadChunk reads chunk c of the entry's content into buf, which holds at least SealChunk bytes,
// and returns it if it is the chunk VerifyPayload verified. Otherwise it returns a
// *ChangedError, and the caller must not use buf.
func (s *EntrySeal) ReadChunk(c int64, buf []byte) ([]byte, error) {
	if c < 0 || c >= s.Chunks() {
		return nil, fmt.Errorf("%s has no chunk %d", s.b.describe(s.e.Path), c)
	}
	off := c * SealChunk
	chunk := buf[:min(SealChunk, s.e.Size-off)]
	if _, err := s.b.data.ReadAt(chunk, s.b.EntryOffset(s.e)+off); err != nil {
		return nil, fmt.Errorf("%s: reading the bundle: %w", s.b.describe(s.e.Path), err)
	}
	want := s.tags[c]
	if got := tagOf(s.g, s.entry, c, chunk); subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return nil, &ChangedError{What: s.b.describe(s.e.Path), Offset: off, Length: int64(len(chunk))}
	}
	return chunk, nil
}

// ChangedError is an entry whose bytes in the bundle file are no longer the ones VerifyPayload
// checked against the signed BOM.
type ChangedError struct {
	What           string
	Offset, Length int64 // within the entry's content
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s: bytes %d to %d changed after the bundle was verified", e.What, e.Offset, e.Offset+e.Length)
}
