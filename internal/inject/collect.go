package inject

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blob is one payload entry: its digest, size, and how to read its bytes.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

// contents is everything a payload holds, deduplicated by digest.
type contents struct {
	blobs     map[v1.Hash]blob
	manifests map[v1.Hash]types.MediaType
	tags      map[string]v1.Hash // "repository:tag"
}

func newContents() *contents {
	return &contents{
		blobs:     map[v1.Hash]blob{},
		manifests: map[v1.Hash]types.MediaType{},
		tags:      map[string]v1.Hash{},
	}
}

// add records one PayloadImage: its tag, its manifests and all their blobs.
func (c *contents) add(pi PayloadImage) error {
	ref := pi.Repository + ":" + pi.Tag
	if err := validateRepository(pi.Repository); err != nil {
		return err
	}
	if err := validateTag(pi.Tag); err != nil {
		return err
	}
	if _, dup := c.tags[ref]; dup {
		return fmt.Errorf("%s is listed twice", ref)
	}
	var (
		digest v1.Hash
		err    error
	)
	switch {
	case pi.Index != nil && pi.Image == nil:
		digest, err = c.addIndex(pi.Index, types.OCIImageIndex)
	case pi.Image != nil && pi.Index == nil:
		digest, err = c.addImage(pi.Image, types.OCIManifestSchema1)
	default:
		return fmt.Errorf("%s: set exactly one of Index and Image", ref)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	c.tags[ref] = digest
	return nil
}

// addIndex records an index and, recursively, every manifest it lists: all
// platforms, so that whichever node pulls gets its own.
func (c *contents) addIndex(idx v1.ImageIndex, fallback types.MediaType) (v1.Hash, error) {
	digest, err := c.addManifest(idx, fallback)
	if err != nil {
		return v1.Hash{}, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading index %s: %w", digest, err)
	}
	for _, desc := range im.Manifests {
		if err := c.addChild(idx, desc); err != nil {
			return v1.Hash{}, fmt.Errorf("index %s: %w", digest, err)
		}
	}
	return digest, nil
}

func (c *contents) addChild(idx v1.ImageIndex, desc v1.Descriptor) error {
	var (
		got v1.Hash
		err error
	)
	switch {
	case desc.MediaType.IsIndex():
		child, cerr := idx.ImageIndex(desc.Digest)
		if cerr != nil {
			return fmt.Errorf("child index %s: %w", desc.Digest, cerr)
		}
		got, err = c.addIndex(child, desc.MediaType)
	case desc.MediaType.IsImage():
		child, cerr := idx.Image(desc.Digest)
		if cerr != nil {
			return fmt.Errorf("child image %s: %w", desc.Digest, cerr)
		}
		got, err = c.addImage(child, desc.MediaType)
	default:
		return fmt.Errorf("child %s has media type %q, which is neither an image nor an index", desc.Digest, desc.MediaType)
	}
	if err != nil {
		return err
	}
	if got != desc.Digest {
		return fmt.Errorf("child %s resolved to manifest %s", desc.Digest, got)
	}
	return nil
}

// addImage records an image manifest, its config and its compressed layers.
func (c *contents) addImage(img v1.Image, fallback types.MediaType) (v1.Hash, error) {
	digest, err := c.addManifest(img, fallback)
	if err != nil {
		return v1.Hash{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading manifest %s: %w", digest, err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading config of %s: %w", digest, err)
	}
	if err := c.addBytes(m.Config.Digest, cfg); err != nil {
		return v1.Hash{}, fmt.Errorf("config of %s: %w", digest, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("listing layers of %s: %w", digest, err)
	}
	for _, l := range layers {
		if err := c.addLayer(l); err != nil {
			return v1.Hash{}, fmt.Errorf("image %s: %w", digest, err)
		}
	}
	return digest, nil
}

// manifester is what v1.Image and v1.ImageIndex share.
type manifester interface {
	RawManifest() ([]byte, error)
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
}

// addManifest records a manifest blob and its media type. A manifest that
// omits its mediaType (allowed by OCI) gets the type its parent declared.
func (c *contents) addManifest(m manifester, fallback types.MediaType) (v1.Hash, error) {
	raw, err := m.RawManifest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading manifest: %w", err)
	}
	digest, err := m.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest of manifest: %w", err)
	}
	mt, err := m.MediaType()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("media type of %s: %w", digest, err)
	}
	if mt == "" {
		mt = fallback
	}
	if err := validateMediaType(string(mt)); err != nil {
		return v1.Hash{}, fmt.Errorf("manifest %s: %w", digest, err)
	}
	if prev, ok := c.manifests[digest]; ok && prev != mt {
		return v1.Hash{}, fmt.Errorf("manifest %s has media types %q and %q", digest, prev, mt)
	}
	if err := c.addBytes(digest, raw); err != nil {
		return v1.Hash{}, fmt.Errorf("manifest: %w", err)
	}
	c.manifests[digest] = mt
	return digest, nil
}

func (c *contents) addBytes(digest v1.Hash, b []byte) error {
	return c.addBlob(blob{digest: digest, size: int64(len(b)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}})
}

// addLayer records a layer as stored in the registry: compressed bytes,
// never recompressed, so that its digest stays the one the manifest names.
func (c *contents) addLayer(l v1.Layer) error {
	digest, err := l.Digest()
	if err != nil {
		return fmt.Errorf("layer digest: %w", err)
	}
	size, err := l.Size()
	if err != nil {
		return fmt.Errorf("size of layer %s: %w", digest, err)
	}
	return c.addBlob(blob{digest: digest, size: size, open: l.Compressed})
}

func (c *contents) addBlob(b blob) error {
	if b.digest.Algorithm != "sha256" || !hex64RE.MatchString(b.digest.Hex) {
		return fmt.Errorf("blob %s: only sha256 digests in lowercase hex are supported", b.digest)
	}
	if prev, ok := c.blobs[b.digest]; ok {
		if prev.size != b.size {
			return fmt.Errorf("blob %s has sizes %d and %d", b.digest, prev.size, b.size)
		}
		return nil
	}
	c.blobs[b.digest] = b
	return nil
}
