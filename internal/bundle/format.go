package bundle

import (
	"archive/tar"
	"bytes"
	"fmt"
	"time"
)

// A bundle is one uncompressed POSIX (ustar) tar file:
//
//	bom.json                 the bill of materials (signed)
//	bom.signatures.json      a fixed-size slot holding the signatures, padded with spaces
//	...payload entries...    every other entry, at the offsets the BOM records
//	two zero blocks          the tar trailer
//
// The first two entries are the head. Everything after it is the payload, and the BOM gives, for
// each payload entry, its path, size, SHA-256 and the offset of its tar header from the start of
// the payload. Because every header is the canonical one for its path, size and the BOM's
// creation time, and padding is zeros, the signed BOM determines every byte of the payload.
//
// The signature slot has a fixed size so that signatures can be added to a stockpiled bundle by
// rewriting 64 KiB in place, without touching the payload or changing any offset.
//
// Split for removable media, the same bytes are cut into parts: part 0 is the head alone and
// parts 1..n are consecutive runs of the payload, each listed in the BOM with its size and
// SHA-256. `cat NAME.part* > NAME` gives back the single-file bundle.
const (
	// Format names this layout inside the BOM.
	Format = "openairgap.dev/bundle/v1"

	BOMPath        = "bom.json"
	SignaturesPath = "bom.signatures.json"
	SBOMPath       = "sbom.cdx.json"
	LayoutDir      = "oci"

	blockSize = 512
	// SignatureSlotSize holds about 40 signatures with certificate chains.
	SignatureSlotSize = 64 << 10
	// MaxBOMSize bounds what is read before any signature is checked.
	MaxBOMSize = 64 << 20
	// MaxEntries bounds the work a hostile BOM can ask for.
	MaxEntries = 1 << 20
	// maxUstarSize is the largest entry a plain ustar header can describe (11 octal digits).
	maxUstarSize = 1<<33 - 1
	// trailerSize is the two zero blocks that end a tar archive.
	trailerSize = 2 * blockSize
)

// padded rounds n up to a whole number of tar blocks.
func padded(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// entrySpan is the space an entry takes in the archive: header, content and padding.
func entrySpan(size int64) int64 { return blockSize + padded(size) }

// headSize is where the payload starts, for a BOM of bomLen bytes.
func headSize(bomLen int64) int64 {
	return entrySpan(bomLen) + entrySpan(SignatureSlotSize)
}

// tarHeader returns the canonical 512-byte header for a regular file: mode 0644, owned by root,
// modified at the bundle's creation time, nothing else set. A reader rebuilds it and compares
// bytes, so a header that differs in any field is caught.
func tarHeader(name string, size int64, mtime time.Time) ([]byte, error) {
	if len(name) > 100 {
		return nil, fmt.Errorf("entry name %q is longer than 100 bytes", name)
	}
	if size < 0 || size > maxUstarSize {
		return nil, fmt.Errorf("entry %q has size %d: entries are limited to 8 GiB", name, size)
	}
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	err := w.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o644,
		ModTime:  mtime.UTC().Truncate(time.Second),
		Format:   tar.FormatUSTAR,
	})
	if err != nil {
		return nil, fmt.Errorf("tar header for %q: %w", name, err)
	}
	if buf.Len() != blockSize {
		return nil, fmt.Errorf("tar header for %q is %d bytes, expected one block", name, buf.Len())
	}
	return buf.Bytes(), nil
}
