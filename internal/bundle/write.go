package bundle

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

func write(ctx context.Context, spec Spec, b *BOM, sources []entrySource, keys []SigningKey) (*Result, error) {
	if spec.PartSize > 0 {
		return writeSplit(ctx, spec, b, sources, keys)
	}
	return writeSingle(ctx, spec, b, sources, keys)
}

// writeSingle writes head then payload in one pass. The BOM is final before the payload is
// written, so the file's own digest is hashed as the bytes go out, on the other core.
func writeSingle(ctx context.Context, spec Spec, b *BOM, sources []entrySource, keys []SigningKey) (*Result, error) {
	bom, head, sigs, err := signedHead(b, keys)
	if err != nil {
		return nil, err
	}
	tmp, err := createTemp(spec.Output)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	fileHash := newAsyncHasher()
	out := io.MultiWriter(tmp, fileHash)
	if _, err := out.Write(head); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := writePayload(ctx, out, sources, b.Created); err != nil {
		tmp.Close()
		fileHash.Sum()
		return nil, err
	}
	sum := fileHash.Sum()
	if err := finish(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), spec.Output); err != nil {
		return nil, err
	}
	removeStale(spec.Output, 0)
	return result(b, bom, sigs, sum, int64(len(head))+b.PayloadSize, []string{spec.Output})
}

// writeSplit writes the payload into parts 1..n first, hashing each part on the other core, then
// writes part 0 with a BOM that lists every part's digest. The BOM's length does not depend on
// the digests' values, so the layout computed up front stays right.
func writeSplit(ctx context.Context, spec Spec, b *BOM, sources []entrySource, keys []SigningKey) (*Result, error) {
	for off := int64(0); off < b.PayloadSize; off += spec.PartSize {
		b.Parts = append(b.Parts, Part{Offset: off, Size: min(spec.PartSize, b.PayloadSize-off), SHA256: strings.Repeat("0", 64)})
	}
	if len(b.Parts)+1 > 1000 {
		return nil, fmt.Errorf("a part size of %d bytes gives %d parts; at most 999 payload parts are supported", spec.PartSize, len(b.Parts))
	}
	draft, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	pw := &partWriter{output: spec.Output, parts: b.Parts}
	defer pw.cleanup()
	if err := writePayload(ctx, pw, sources, b.Created); err != nil {
		return nil, err
	}
	sums, err := pw.close()
	if err != nil {
		return nil, err
	}
	for i := range b.Parts {
		b.Parts[i].SHA256 = sums[i]
	}
	bom, head, sigs, err := signedHead(b, keys)
	if err != nil {
		return nil, err
	}
	if len(bom) != len(draft) {
		return nil, fmt.Errorf("internal error: the BOM changed length (%d to %d) when part digests were filled in", len(draft), len(bom))
	}
	headFile, err := createTemp(PartName(spec.Output, 0))
	if err != nil {
		return nil, err
	}
	pw.temps = append(pw.temps, headFile.Name())
	if _, err := headFile.Write(head); err != nil {
		headFile.Close()
		return nil, err
	}
	if err := finish(headFile); err != nil {
		return nil, err
	}
	// Payload parts first, head last: an interrupted rename never leaves a head whose parts
	// are missing. pw.temps holds parts 1..n, then the head.
	n := len(b.Parts)
	files := make([]string, n+1)
	for i, t := range pw.temps {
		part := (i + 1) % (n + 1)
		files[part] = PartName(spec.Output, part)
		if err := os.Rename(t, files[part]); err != nil {
			return nil, err
		}
	}
	pw.temps = nil
	removeStale(spec.Output, len(files))
	sum := sha256.Sum256(head)
	return result(b, bom, sigs, fmt.Sprintf("%x", sum), int64(len(head))+b.PayloadSize, files)
}

// signedHead encodes the BOM, signs it with every key and lays out the head: the BOM entry and
// the signature slot.
func signedHead(b *BOM, keys []SigningKey) (bom, head []byte, sigs []signing.Signature, err error) {
	if bom, err = b.Marshal(); err != nil {
		return nil, nil, nil, err
	}
	if sigs, err = signAll(bom, keys); err != nil {
		return nil, nil, nil, err
	}
	slot, err := encodeSlot(sigs)
	if err != nil {
		return nil, nil, nil, err
	}
	head, err = headBytes(bom, slot, b.Created)
	return bom, head, sigs, err
}

func result(b *BOM, bom []byte, sigs []signing.Signature, sum string, size int64, files []string) (*Result, error) {
	r := &Result{BOM: b, BOMDigest: digestOf(bom).String(), SHA256: sum, Size: size, Files: files}
	for _, s := range sigs {
		r.Signers = append(r.Signers, s.KeyID)
	}
	return r, nil
}

// writePayload writes every entry with its canonical header and padding, then the trailer,
// checking each entry's bytes against the digest and size the BOM already states.
func writePayload(ctx context.Context, out io.Writer, sources []entrySource, created time.Time) error {
	zeros := make([]byte, blockSize*2)
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	for _, s := range sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tarHeader(s.path, s.size, created)
		if err != nil {
			return err
		}
		if _, err := out.Write(hdr); err != nil {
			return err
		}
		if err := copyEntry(ctx, out, s, *bufp); err != nil {
			return err
		}
		if _, err := out.Write(zeros[:padded(s.size)-s.size]); err != nil {
			return err
		}
	}
	_, err := out.Write(zeros[:trailerSize])
	return err
}

func copyEntry(ctx context.Context, out io.Writer, s entrySource, buf []byte) error {
	if s.data != nil {
		_, err := out.Write(s.data)
		return err
	}
	in, err := s.open()
	if err != nil {
		return fmt.Errorf("%s: opening the source: %w", s.path, err)
	}
	defer in.Close()
	// The entry's digest is computed on its own goroutine, like the file's: with the copy loop
	// doing only reads and writes, the two digests and the copying spread over both cores.
	h := newAsyncHasher()
	summed := false
	defer func() {
		if !summed { // an early return: stop the hasher's goroutine
			h.Sum()
		}
	}()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := in.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > s.size {
				return fmt.Errorf("%s: the source has more than the %d bytes expected", s.path, s.size)
			}
			h.Write(buf[:k])
			if _, err := out.Write(buf[:k]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("%s: reading the source: %w", s.path, rerr)
		}
	}
	got := h.Sum()
	summed = true
	if n != s.size {
		return fmt.Errorf("%s: the source has %d bytes, %d expected", s.path, n, s.size)
	}
	if got != s.sha256 {
		return fmt.Errorf("%s: the source's bytes have sha256 %s, not the %s expected (changed during the build, or corrupt at the source)", s.path, got, s.sha256)
	}
	return nil
}

// partWriter spreads a payload stream over part files, hashing each on the other core.
type partWriter struct {
	output string
	parts  []Part
	temps  []string
	cur    *os.File
	hash   *asyncHasher
	left   int64
	sums   []string
}

func (p *partWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		if p.left == 0 {
			if err := p.next(); err != nil {
				return written, err
			}
		}
		n := int(min(int64(len(b)), p.left))
		if _, err := p.cur.Write(b[:n]); err != nil {
			return written, err
		}
		p.hash.Write(b[:n])
		p.left -= int64(n)
		written += n
		b = b[n:]
	}
	return written, nil
}

// next closes the current part and opens the following one.
func (p *partWriter) next() error {
	if err := p.closeCurrent(); err != nil {
		return err
	}
	i := len(p.temps)
	if i >= len(p.parts) {
		return fmt.Errorf("internal error: the payload is longer than its %d parts", len(p.parts))
	}
	f, err := createTemp(PartName(p.output, i+1))
	if err != nil {
		return err
	}
	p.temps = append(p.temps, f.Name())
	p.cur, p.hash, p.left = f, newAsyncHasher(), p.parts[i].Size
	return nil
}

func (p *partWriter) closeCurrent() error {
	if p.cur == nil {
		return nil
	}
	p.sums = append(p.sums, p.hash.Sum())
	err := finish(p.cur)
	p.cur = nil
	return err
}

func (p *partWriter) close() ([]string, error) {
	if err := p.closeCurrent(); err != nil {
		return nil, err
	}
	if len(p.sums) != len(p.parts) || p.left != 0 {
		return nil, fmt.Errorf("internal error: wrote %d of %d parts", len(p.sums), len(p.parts))
	}
	return p.sums, nil
}

func (p *partWriter) cleanup() {
	if p.cur != nil {
		p.cur.Close()
		p.hash.Sum()
	}
	for _, t := range p.temps {
		os.Remove(t)
	}
}

// PartName is the file name of part i of a split bundle.
func PartName(output string, i int) string { return fmt.Sprintf("%s.part%03d", output, i) }

func createTemp(final string) (*os.File, error) {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, "."+filepath.Base(final)+".tmp-*")
}

// finish closes a written file before it is renamed into place. It does not fsync: flushing a
// gigabyte costs seconds, and a bundle that a crash left incomplete is caught anyway, by its
// size and digest on the next read (the resource's Read rebuilds it; Open refuses it).
func finish(f *os.File) error {
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// removeStale deletes what an earlier build of the same output left in the other form: the
// single file when the bundle is now split, and parts beyond the count now written.
func removeStale(output string, parts int) {
	if parts > 0 {
		os.Remove(output)
	}
	for i := parts; i < 1000; i++ {
		if os.Remove(PartName(output, i)) != nil {
			if _, err := os.Stat(PartName(output, i+1)); err != nil {
				return
			}
		}
	}
}
