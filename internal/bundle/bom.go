package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// BOM is the bill of materials: what the bundle holds and the SHA-256 of every payload byte. It is
// the one document the signatures cover.
type BOM struct {
	Format  string    `json:"format"`
	Name    string    `json:"name"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// PayloadSize counts every byte after the head, the tar trailer included.
	PayloadSize int64 `json:"payloadSize"`
	// Parts is set when the bundle is split for removable media; part 0 (the head) is not listed.
	Parts     []Part     `json:"parts,omitempty"`
	Entries   []Entry    `json:"entries"`
	Images    []Image    `json:"images,omitempty"`
	Charts    []Chart    `json:"charts,omitempty"`
	Manifests []Manifest `json:"manifests,omitempty"`
	Files     []File     `json:"files,omitempty"`
	SBOM      string     `json:"sbom"`
}

// Entry is one payload file.
type Entry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Offset is where the entry's tar header starts, counted from the start of the payload.
	Offset int64 `json:"offset"`
}

// Part is one payload part of a split bundle.
type Part struct {
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Image is an image or image index carried in the bundle's OCI layout.
type Image struct {
	// Ref is the reference as the configuration wrote it; Name and Tag are its normalised
	// repository (with registry host) and tag.
	Ref  string `json:"ref"`
	Name string `json:"name"`
	Tag  string `json:"tag,omitempty"`
	// Digest identifies the manifest or index in the bundle. SourceDigest is the digest at the
	// source; the two differ when only some platforms of an index were taken.
	Digest       string          `json:"digest"`
	SourceDigest string          `json:"sourceDigest"`
	MediaType    string          `json:"mediaType"`
	Platforms    []ImagePlatform `json:"platforms"`
}

// ImagePlatform is one platform's manifest of an image.
type ImagePlatform struct {
	Platform string   `json:"platform"`
	Digest   string   `json:"digest"`
	Config   string   `json:"config"`
	Layers   []string `json:"layers"`
	Size     int64    `json:"size"` // manifest, config and layers together
}

// Chart is a Helm chart carried as a packaged .tgz entry.
type Chart struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	AppVersion string   `json:"appVersion,omitempty"`
	Path       string   `json:"path"`
	Images     []string `json:"images,omitempty"`
}

// Manifest is a file of plain Kubernetes manifests.
type Manifest struct {
	Path   string   `json:"path"`
	Source string   `json:"source"`
	Images []string `json:"images,omitempty"`
}

// File is an arbitrary file carried in the bundle.
type File struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

var (
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
	ociDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	safeName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// ParseBOM decodes and validates a BOM strictly: unknown fields, trailing data, unsafe paths,
// duplicate entries or an inconsistent layout are all errors, whoever signed it.
func ParseBOM(data []byte) (*BOM, error) {
	if len(data) > MaxBOMSize {
		return nil, fmt.Errorf("BOM is %d bytes, more than the %d-byte limit", len(data), MaxBOMSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b BOM
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("BOM is not valid: %w", err)
	}
	if dec.More() {
		return nil, errors.New("BOM is not valid: data after the JSON document")
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("BOM is not valid: %w", err)
	}
	return &b, nil
}

// Marshal encodes the BOM in its one canonical form.
func (b *BOM) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Validate checks the BOM's own consistency: the layout it describes is exactly a sequence of
// canonical tar entries, and everything it names is one of those entries.
func (b *BOM) Validate() error {
	if b.Format != Format {
		return fmt.Errorf("format %q is not %q: this provider cannot read it", b.Format, Format)
	}
	if b.Name == "" {
		return errors.New("name is empty")
	}
	if len(b.Entries) > MaxEntries {
		return fmt.Errorf("%d entries, more than the limit of %d", len(b.Entries), MaxEntries)
	}
	seen := make(map[string]bool, len(b.Entries))
	var offset int64
	for i, e := range b.Entries {
		if err := checkPath(e.Path); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if e.Path == BOMPath || e.Path == SignaturesPath {
			return fmt.Errorf("entry %q is reserved for the head", e.Path)
		}
		if seen[e.Path] {
			return fmt.Errorf("entry %q is listed twice", e.Path)
		}
		seen[e.Path] = true
		if e.Size < 0 || e.Size > maxUstarSize {
			return fmt.Errorf("entry %q has an impossible size %d", e.Path, e.Size)
		}
		if !hexDigest.MatchString(e.SHA256) {
			return fmt.Errorf("entry %q has a malformed sha256 %q", e.Path, e.SHA256)
		}
		if e.Offset != offset {
			return fmt.Errorf("entry %q is at offset %d, expected %d: entries must follow each other", e.Path, e.Offset, offset)
		}
		offset += entrySpan(e.Size)
	}
	if b.PayloadSize != offset+trailerSize {
		return fmt.Errorf("payload size %d does not match its entries (%d)", b.PayloadSize, offset+trailerSize)
	}
	if err := b.validateParts(); err != nil {
		return err
	}
	return b.validateReferences(seen)
}

func (b *BOM) validateParts() error {
	var offset int64
	for i, p := range b.Parts {
		if p.Offset != offset || p.Size <= 0 {
			return fmt.Errorf("part %d covers [%d, +%d), expected to start at %d", i+1, p.Offset, p.Size, offset)
		}
		if !hexDigest.MatchString(p.SHA256) {
			return fmt.Errorf("part %d has a malformed sha256", i+1)
		}
		offset += p.Size
	}
	if len(b.Parts) > 0 && offset != b.PayloadSize {
		return fmt.Errorf("parts cover %d bytes, the payload has %d", offset, b.PayloadSize)
	}
	return nil
}

func (b *BOM) validateReferences(entries map[string]bool) error {
	need := func(what, p string) error {
		if !entries[p] {
			return fmt.Errorf("%s names %q, which is not an entry", what, p)
		}
		return nil
	}
	if err := need("sbom", b.SBOM); err != nil {
		return err
	}
	for _, img := range b.Images {
		if !ociDigest.MatchString(img.Digest) {
			return fmt.Errorf("image %q has a malformed digest %q", img.Ref, img.Digest)
		}
		if err := need("image "+img.Ref, BlobPath(img.Digest)); err != nil {
			return err
		}
		for _, p := range img.Platforms {
			for _, d := range append([]string{p.Digest, p.Config}, p.Layers...) {
				if !ociDigest.MatchString(d) {
					return fmt.Errorf("image %q (%s) has a malformed digest %q", img.Ref, p.Platform, d)
				}
				if err := need("image "+img.Ref, BlobPath(d)); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range b.Charts {
		if err := need("chart "+c.Name, c.Path); err != nil {
			return err
		}
	}
	for _, m := range b.Manifests {
		if err := need("manifest "+m.Source, m.Path); err != nil {
			return err
		}
	}
	for _, f := range b.Files {
		if err := need("file "+f.Name, f.Path); err != nil {
			return err
		}
	}
	return nil
}

// checkPath admits relative, clean, slash-separated paths of safe components only.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > 100:
		return fmt.Errorf("path %q is longer than 100 bytes", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || !safeName.MatchString(part) {
			return fmt.Errorf("path %q has an unsafe component %q", p, part)
		}
	}
	return nil
}

// EntryByPath finds an entry.
func (b *BOM) EntryByPath(p string) (Entry, bool) {
	for _, e := range b.Entries {
		if e.Path == p {
			return e, true
		}
	}
	return Entry{}, false
}

// BlobPath is the entry that holds a blob of the OCI layout.
func BlobPath(digest string) string {
	return LayoutDir + "/blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}
