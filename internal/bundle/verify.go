package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// VerifyPayload hashes every payload byte against the signed BOM: each entry's canonical header,
// its content and its padding, and the trailer. Entries are hashed on every core, largest first,
// so one large layer does not finish last. The first mismatch stops all work and names the entry.
// On success the bundle is sealed (see Seal), so that its entries can be read again, checked,
// without a second SHA-256 pass.
func (b *Bundle) VerifyPayload(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.seal = nil
	s, err := newSeal(b.BOM.Entries)
	if err != nil {
		return err
	}
	order := make([]int, len(b.BOM.Entries))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return b.BOM.Entries[order[i]].Size > b.BOM.Entries[order[j]].Size })

	work := make(chan int)
	var once sync.Once
	var firstErr error
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bufp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bufp)
			h := sha256.New()
			g := s.gmac()
			for i := range work {
				sealEntry := func(c int64, chunk []byte) { s.tags[i][c] = tagOf(g, i, c, chunk) }
				if err := b.verifyEntry(ctx, b.BOM.Entries[i], h, *bufp, sealEntry); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for _, i := range order {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		firstErr = b.verifyTrailer()
	}
	if firstErr != nil && !errors.Is(firstErr, context.Canceled) && len(b.BOM.Parts) > 0 {
		firstErr = b.explainParts(firstErr)
	}
	if firstErr == nil {
		b.seal = s
	}
	return firstErr
}

// verifyEntry checks one entry; seal sees each SealChunk of its content, numbered, as it is
// hashed.
func (b *Bundle) verifyEntry(ctx context.Context, e Entry, h hash.Hash, buf []byte, seal func(c int64, chunk []byte)) error {
	at := b.size + e.Offset
	want, err := tarHeader(e.Path, e.Size, b.BOM.Created)
	if err != nil {
		return err
	}
	got := buf[:blockSize]
	if _, err := b.data.ReadAt(got, at); err != nil {
		return fmt.Errorf("%s: reading its tar header: %w", b.describe(e.Path), err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: %s", b.describe(e.Path), headerMismatch(got, e))
	}
	h.Reset()
	buf = buf[:SealChunk]
	off, end := at+blockSize, at+blockSize+e.Size
	for c := int64(0); off < end; c++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := buf[:min(int64(len(buf)), end-off)]
		if _, err := b.data.ReadAt(chunk, off); err != nil {
			return fmt.Errorf("%s: reading: %w", b.describe(e.Path), err)
		}
		h.Write(chunk)
		seal(c, chunk)
		off += int64(len(chunk))
	}
	if sum := hexOf(h); sum != e.SHA256 {
		return fmt.Errorf("%s: content does not match the signed BOM (sha256 %s, BOM says %s): the bundle was tampered with or damaged", b.describe(e.Path), sum, e.SHA256)
	}
	pad := buf[:padded(e.Size)-e.Size]
	if _, err := b.data.ReadAt(pad, end); err != nil {
		return fmt.Errorf("%s: reading its padding: %w", b.describe(e.Path), err)
	}
	if !allZero(pad) {
		return fmt.Errorf("%s: the padding after it is not zeros: data was hidden in the archive", b.describe(e.Path))
	}
	return nil
}

func (b *Bundle) verifyTrailer() error {
	end := make([]byte, trailerSize)
	if _, err := b.data.ReadAt(end, b.size+b.BOM.PayloadSize-trailerSize); err != nil {
		return fmt.Errorf("reading the end of the archive: %w", err)
	}
	if !allZero(end) {
		return errors.New("the archive's trailer is not zeros: an entry was appended or the end was changed")
	}
	return nil
}

// headerMismatch explains a header that is not the canonical one for the BOM's entry.
func headerMismatch(got []byte, e Entry) string {
	hdr, err := tar.NewReader(bytes.NewReader(append(got, make([]byte, 2*blockSize)...))).Next()
	if err != nil {
		return fmt.Sprintf("no valid tar header where the signed BOM puts %q (entries were added, removed or moved)", e.Path)
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return fmt.Sprintf("found a symbolic link %q -> %q where the signed BOM puts %q: bundles carry regular files only", hdr.Name, hdr.Linkname, e.Path)
	case tar.TypeLink:
		return fmt.Sprintf("found a hard link %q -> %q where the signed BOM puts %q: bundles carry regular files only", hdr.Name, hdr.Linkname, e.Path)
	}
	if hdr.Name != e.Path {
		if err := checkPath(hdr.Name); err != nil {
			return fmt.Sprintf("found entry %q where the signed BOM puts %q, and its %v", hdr.Name, e.Path, err)
		}
		return fmt.Sprintf("found entry %q where the signed BOM puts %q: an entry was added, removed or reordered", hdr.Name, e.Path)
	}
	if hdr.Size != e.Size {
		return fmt.Sprintf("its tar header says %d bytes, the signed BOM says %d", hdr.Size, e.Size)
	}
	return "its tar header differs from the canonical one (mode, owner, time or type changed)"
}

// describe names an entry the way an operator thinks of it.
func (b *Bundle) describe(p string) string {
	switch {
	case p == b.BOM.SBOM:
		return "SBOM " + p
	case strings.HasPrefix(p, LayoutDir+"/blobs/"):
		d := "sha256:" + p[strings.LastIndex(p, "/")+1:]
		for _, img := range b.BOM.Images {
			if img.Digest == d {
				return fmt.Sprintf("manifest of image %s (%s)", img.Ref, p)
			}
			for _, pl := range img.Platforms {
				switch {
				case pl.Digest == d:
					return fmt.Sprintf("%s manifest of image %s (%s)", pl.Platform, img.Ref, p)
				case pl.Config == d:
					return fmt.Sprintf("%s config of image %s (%s)", pl.Platform, img.Ref, p)
				}
				for _, l := range pl.Layers {
					if l == d {
						return fmt.Sprintf("layer %s of image %s (%s)", d, img.Ref, pl.Platform)
					}
				}
			}
		}
	}
	for _, c := range b.BOM.Charts {
		if c.Path == p {
			return fmt.Sprintf("chart %s %s (%s)", c.Name, c.Version, p)
		}
	}
	for _, f := range b.BOM.Files {
		if f.Path == p {
			return fmt.Sprintf("file %s (%s)", f.Name, p)
		}
	}
	return "entry " + p
}

// explainParts turns a payload error of a split bundle into one about the part files when a part
// is the wrong one: the usual mistake with removable media is a part swapped or from another
// bundle.
func (b *Bundle) explainParts(cause error) error {
	got := make([]string, len(b.BOM.Parts))
	for i := range b.BOM.Parts {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(b.data.files[i+1], 0, b.BOM.Parts[i].Size)); err != nil {
			return cause
		}
		got[i] = hexOf(h)
	}
	var msgs []string
	for i, p := range b.BOM.Parts {
		if got[i] == p.SHA256 {
			continue
		}
		msg := fmt.Sprintf("%s does not match part %d of the signed BOM", b.Files[i+1], i+1)
		for j, q := range b.BOM.Parts {
			if got[i] == q.SHA256 {
				msg = fmt.Sprintf("%s holds part %d, not part %d: the parts are out of order", b.Files[i+1], j+1, i+1)
			}
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return cause
	}
	return fmt.Errorf("%s (%w)", strings.Join(msgs, "; "), cause)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
