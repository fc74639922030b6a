package bundle

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is everything a bundle is built from. Equal specs over equal sources give byte-identical
// payloads and BOMs.
type Spec struct {
	Name    string
	Version string
	// Created is recorded in the BOM and used as every entry's modification time.
	Created   time.Time
	Images    []ImageSpec
	Charts    []ChartSpec
	Manifests []string // files of Kubernetes YAML
	Files     []FileSpec
	// Output is the bundle's path; with PartSize set, the parts are Output.part000 and on.
	Output   string
	PartSize int64
}

// FileSpec is an arbitrary file to carry, under Name.
type FileSpec struct {
	Name   string
	Source string
}

// SigningKey signs the BOM at build time; Certificate and Chain (PEM) are optional.
type SigningKey struct {
	Signer      crypto.Signer
	Certificate []byte
	Chain       []byte
}

// BuildOptions carries what is not part of the bundle's content.
type BuildOptions struct {
	Remote []remote.Option
	Keys   []SigningKey
}

// Result describes a written bundle.
type Result struct {
	BOM       *BOM
	BOMDigest string // sha256:<hex> of the BOM's bytes, the thing the signatures cover
	// SHA256 is the hex digest of the bundle file; for a split bundle, of part 0, which holds
	// the signed BOM and through it every part's digest.
	SHA256  string
	Size    int64    // bytes written, all parts together
	Files   []string // the files written, in order
	Signers []string // fingerprints of the keys that signed at build time
}

// MinPartSize keeps a split bundle to a sane number of files.
const MinPartSize = 1 << 20

// entrySource is one payload entry before it is written.
type entrySource struct {
	path   string
	size   int64
	sha256 string // hex, known before writing and checked while writing
	data   []byte
	open   func() (io.ReadCloser, error)
}

// Build resolves every source, checks that manifests and charts only use carried images, writes
// the bundle and signs it. Nothing is left at Output unless the whole build succeeds.
func Build(ctx context.Context, spec Spec, opts BuildOptions) (*Result, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	b := &BOM{Format: Format, Name: spec.Name, Version: spec.Version, Created: spec.Created.UTC().Truncate(time.Second)}
	var images []*resolvedImage
	for _, is := range spec.Images {
		img, err := resolveImage(ctx, is, opts.Remote)
		if err != nil {
			return nil, err
		}
		images = append(images, img)
		b.Images = append(b.Images, img.record)
	}
	sources, err := layoutEntries(images)
	if err != nil {
		return nil, err
	}
	ix := newImageIndex(b.Images)
	charts, err := chartEntries(spec.Charts, b, ix)
	if err != nil {
		return nil, err
	}
	sources = append(sources, charts...)
	manifests, err := manifestEntries(spec.Manifests, b, ix)
	if err != nil {
		return nil, err
	}
	sources = append(sources, manifests...)
	files, err := fileEntries(spec.Files, b)
	if err != nil {
		return nil, err
	}
	sources = append(sources, files...)

	hashes := map[string]string{}
	for _, s := range sources {
		hashes[s.path] = s.sha256
	}
	sbom, err := buildSBOM(b, hashes)
	if err != nil {
		return nil, fmt.Errorf("writing the SBOM: %w", err)
	}
	sources = append(sources, memEntry(SBOMPath, sbom))
	b.SBOM = SBOMPath

	var offset int64
	for _, s := range sources {
		b.Entries = append(b.Entries, Entry{Path: s.path, Size: s.size, SHA256: s.sha256, Offset: offset})
		offset += entrySpan(s.size)
	}
	b.PayloadSize = offset + trailerSize
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("internal error: the BOM built is not valid: %w", err)
	}
	return write(ctx, spec, b, sources, opts.Keys)
}

var safeFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

func (s Spec) validate() error {
	if !safeFileName.MatchString(s.Name) {
		return fmt.Errorf("name %q: use letters, digits, '.', '_' and '-' (at most 80)", s.Name)
	}
	if s.Created.IsZero() {
		return errors.New("created time is not set")
	}
	if s.Output == "" {
		return errors.New("output path is not set")
	}
	if s.PartSize != 0 && s.PartSize < MinPartSize {
		return fmt.Errorf("part size %d is below the minimum of %d bytes", s.PartSize, MinPartSize)
	}
	if len(s.Images)+len(s.Charts)+len(s.Manifests)+len(s.Files) == 0 {
		return errors.New("the bundle would be empty: give at least one image, chart, manifest or file")
	}
	names := map[string]bool{}
	for _, f := range s.Files {
		if !safeFileName.MatchString(f.Name) {
			return fmt.Errorf("file name %q: use letters, digits, '.', '_' and '-' (at most 80)", f.Name)
		}
		if names[f.Name] {
			return fmt.Errorf("file name %q is used twice", f.Name)
		}
		names[f.Name] = true
	}
	return nil
}

// layoutEntries turns the images into an OCI image layout: oci-layout, index.json naming every
// image, then each distinct blob once, in digest order.
func layoutEntries(images []*resolvedImage) ([]entrySource, error) {
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	blobs := map[string]blob{}
	for _, img := range images {
		index.Manifests = append(index.Manifests, img.desc)
		for d, b := range img.blobs {
			blobs[d] = b
		}
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	out := []entrySource{
		memEntry(LayoutDir+"/oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)),
		memEntry(LayoutDir+"/index.json", indexJSON),
	}
	digests := make([]string, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	for _, d := range digests {
		b := blobs[d]
		e := entrySource{path: BlobPath(d), size: b.size, sha256: strings.TrimPrefix(d, "sha256:"), data: b.data, open: b.fetch}
		if b.data != nil {
			e.open = nil
		}
		out = append(out, e)
	}
	return out, nil
}

// MaxManifestSize bounds one manifest file read into memory.
const MaxManifestSize = 16 << 20

func manifestEntries(paths []string, b *BOM, ix imageIndex) ([]entrySource, error) {
	var out []entrySource
	used := map[string]bool{}
	for _, p := range paths {
		data, err := readLimited(p, MaxManifestSize)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", p, err)
		}
		refs, err := ScanImages(data)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", p, err)
		}
		if err := requireCarried(ix, "manifest "+p, refs); err != nil {
			return nil, err
		}
		entry := uniqueName("manifests/", filepath.Base(p), used)
		b.Manifests = append(b.Manifests, Manifest{Path: entry, Source: filepath.ToSlash(p), Images: refs})
		out = append(out, memEntry(entry, data))
	}
	return out, nil
}

// requireCarried fails, naming the file and the image, when a manifest or chart uses an image
// the bundle does not carry: in the enclave it could never be pulled.
func requireCarried(ix imageIndex, what string, refs []string) error {
	for _, r := range refs {
		ok, err := ix.carries(r)
		if err != nil {
			return fmt.Errorf("%s: image reference %q is not valid: %w", what, r, err)
		}
		if !ok {
			return fmt.Errorf("%s uses image %q, which the bundle does not carry: add it to the bundle's images (with the same tag or digest)", what, r)
		}
	}
	return nil
}

func fileEntries(files []FileSpec, b *BOM) ([]entrySource, error) {
	var out []entrySource
	for _, f := range files {
		src := f.Source
		st, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("file %q: %w", f.Name, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("file %q: %s is not a regular file", f.Name, src)
		}
		sum, size, err := hashFile(src)
		if err != nil {
			return nil, fmt.Errorf("file %q: %w", f.Name, err)
		}
		entry := "files/" + f.Name
		b.Files = append(b.Files, File{Name: f.Name, Path: entry})
		out = append(out, entrySource{path: entry, size: size, sha256: sum,
			open: func() (io.ReadCloser, error) { return os.Open(src) }})
	}
	return out, nil
}

func memEntry(path string, data []byte) entrySource {
	sum := sha256.Sum256(data)
	return entrySource{path: path, size: int64(len(data)), sha256: hex.EncodeToString(sum[:]), data: data}
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hexOf(h), n, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than the %d-byte limit", limit)
	}
	return data, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// uniqueName gives a file a safe entry name under dir, adding -2, -3... when two sources share a
// base name.
func uniqueName(dir, base string, used map[string]bool) string {
	base = unsafeChars.ReplaceAllString(base, "_")
	base = strings.TrimLeft(base, "._-")
	if base == "" {
		base = "unnamed"
	}
	if len(base) > 60 {
		base = base[len(base)-60:]
	}
	name := dir + base
	for i := 2; used[name]; i++ {
		ext := filepath.Ext(base)
		name = fmt.Sprintf("%s%s-%d%s", dir, strings.TrimSuffix(base, ext), i, ext)
	}
	used[name] = true
	return name
}
