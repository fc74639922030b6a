package inject

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PayloadImage is one image, or one multi-platform index, that the injector
// serves as Repository:Tag. Set exactly one of Index and Image.
type PayloadImage struct {
	Repository string // e.g. "airgap/registry"; no registry host
	Tag        string
	Index      v1.ImageIndex
	Image      v1.Image
}

// Entry names of the payload tar, read by injector/payload.c.
const (
	indexName  = "index.txt"
	blobPrefix = "blobs/sha256/"
)

// WritePayload writes the injector payload for images to w and returns its
// digest ("sha256:<hex>", the injector's --sha256) and size in bytes.
//
// The payload is an uncompressed POSIX ustar archive: index.txt first, then
// blobs/sha256/<hex> for every manifest, config and layer, sorted and
// deduplicated. Headers are fixed (mode 0644, uid/gid 0, mtime 0, no PAX or
// GNU extensions), so the same images always give the same bytes and the C
// reader stays minimal. Layers are streamed as stored (compressed) and
// checked against their digests on the way.
func WritePayload(w io.Writer, images []PayloadImage) (digest string, size int64, err error) {
	if len(images) == 0 {
		return "", 0, errors.New("payload needs at least one image")
	}
	c := newContents()
	for _, pi := range images {
		if err := c.add(pi); err != nil {
			return "", 0, err
		}
	}
	sum := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(w, sum)}
	tw := tar.NewWriter(cw)
	if err := writeFile(tw, indexName, []byte(c.indexText())); err != nil {
		return "", 0, err
	}
	for _, d := range c.sortedBlobDigests() {
		if err := writeBlob(tw, c.blobs[d]); err != nil {
			return "", 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, fmt.Errorf("finishing payload: %w", err)
	}
	return "sha256:" + hex.EncodeToString(sum.Sum(nil)), cw.n, nil
}

// indexText renders index.txt: manifest lines by digest, then tag lines by name.
func (c *contents) indexText() string {
	var b strings.Builder
	manifests := make([]v1.Hash, 0, len(c.manifests))
	for d := range c.manifests {
		manifests = append(manifests, d)
	}
	slices.SortFunc(manifests, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
	for _, d := range manifests {
		fmt.Fprintf(&b, "manifest %s %s\n", d, c.manifests[d])
	}
	refs := make([]string, 0, len(c.tags))
	for ref := range c.tags {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	for _, ref := range refs {
		fmt.Fprintf(&b, "tag %s %s\n", ref, c.tags[ref])
	}
	return b.String()
}

func (c *contents) sortedBlobDigests() []v1.Hash {
	ds := make([]v1.Hash, 0, len(c.blobs))
	for d := range c.blobs {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b v1.Hash) int { return strings.Compare(a.Hex, b.Hex) })
	return ds
}

func header(name string, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatUSTAR,
	}
}

func writeFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(header(name, int64(len(data)))); err != nil {
		return fmt.Errorf("writing %s header: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// writeBlob streams one blob into the archive and checks that the bytes have
// the digest and size the manifest promised: the injector serves them
// without hashing again, trusting the payload digest computed here.
func writeBlob(tw *tar.Writer, b blob) (err error) {
	name := blobPrefix + b.digest.Hex
	if err := tw.WriteHeader(header(name, b.size)); err != nil {
		return fmt.Errorf("writing %s header: %w", name, err)
	}
	rc, err := b.open()
	if err != nil {
		return fmt.Errorf("opening blob %s: %w", b.digest, err)
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing blob %s: %w", b.digest, cerr)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(rc, b.size))
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", b.digest, err)
	}
	return checkBlob(b, n, rc, h)
}

// checkBlob compares what was copied with the blob's size and digest.
func checkBlob(b blob, n int64, rest io.Reader, h hash.Hash) error {
	if n != b.size {
		return fmt.Errorf("blob %s: read %d bytes, want %d", b.digest, n, b.size)
	}
	if _, err := io.ReadFull(rest, make([]byte, 1)); err == nil {
		return fmt.Errorf("blob %s: longer than its %d bytes", b.digest, b.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.digest.Hex {
		return fmt.Errorf("blob %s: content has digest sha256:%s", b.digest, got)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
