package bundle

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The images of an opened bundle, as go-containerregistry images and indexes read straight from
// the bundle: manifests and configs are read whole and checked against the BOM, layers are
// streamed from their offsets through a verifying reader, so whatever consumes them (the
// injector's payload, a registry push) gets only bytes the signed BOM vouches for, with nothing
// extracted to disk.

// maxManifestBlob bounds a manifest or config read into memory.
const maxManifestBlob = 8 << 20

// Image returns the image or index the BOM records for img: exactly one of the results is set,
// by its media type.
func (b *Bundle) Image(img Image) (v1.Image, v1.ImageIndex, error) {
	h, err := v1.NewHash(img.Digest)
	if err != nil {
		return nil, nil, err
	}
	mt := types.MediaType(img.MediaType)
	if mt.IsIndex() {
		idx, err := b.index(h, mt)
		return nil, idx, err
	}
	i, err := b.image(h, mt)
	return i, nil, err
}

func (b *Bundle) blob(h v1.Hash) ([]byte, error) {
	return b.ReadEntry(BlobPath(h.String()), maxManifestBlob)
}

func (b *Bundle) index(h v1.Hash, mt types.MediaType) (v1.ImageIndex, error) {
	raw, err := b.blob(h)
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", h, err)
	}
	return &bundleIndex{b: b, raw: raw, digest: h, mt: mt, manifest: im}, nil
}

func (b *Bundle) image(h v1.Hash, mt types.MediaType) (v1.Image, error) {
	raw, err := b.blob(h)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", h, err)
	}
	return partial.CompressedToImage(&bundleImage{b: b, raw: raw, mt: mt, manifest: m})
}

type bundleIndex struct {
	b        *Bundle
	raw      []byte
	digest   v1.Hash
	mt       types.MediaType
	manifest *v1.IndexManifest
}

func (i *bundleIndex) MediaType() (types.MediaType, error)       { return i.mt, nil }
func (i *bundleIndex) Digest() (v1.Hash, error)                  { return i.digest, nil }
func (i *bundleIndex) Size() (int64, error)                      { return int64(len(i.raw)), nil }
func (i *bundleIndex) IndexManifest() (*v1.IndexManifest, error) { return i.manifest.DeepCopy(), nil }
func (i *bundleIndex) RawManifest() ([]byte, error)              { return i.raw, nil }

func (i *bundleIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := i.child(h)
	if err != nil {
		return nil, err
	}
	return i.b.image(h, d.MediaType)
}

func (i *bundleIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := i.child(h)
	if err != nil {
		return nil, err
	}
	return i.b.index(h, d.MediaType)
}

func (i *bundleIndex) child(h v1.Hash) (v1.Descriptor, error) {
	for _, d := range i.manifest.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("index %s has no manifest %s", i.digest, h)
}

type bundleImage struct {
	b        *Bundle
	raw      []byte
	mt       types.MediaType
	manifest *v1.Manifest
}

func (i *bundleImage) RawConfigFile() ([]byte, error)      { return i.b.blob(i.manifest.Config.Digest) }
func (i *bundleImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *bundleImage) RawManifest() ([]byte, error)        { return i.raw, nil }

func (i *bundleImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range i.manifest.Layers {
		if l.Digest == h {
			return &bundleLayer{b: i.b, desc: l}, nil
		}
	}
	if i.manifest.Config.Digest == h {
		return &bundleLayer{b: i.b, desc: i.manifest.Config}, nil
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

// bundleLayer streams a layer from its offset in the bundle, checked against the BOM at its end.
type bundleLayer struct {
	b    *Bundle
	desc v1.Descriptor
}

func (l *bundleLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *bundleLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *bundleLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

func (l *bundleLayer) Compressed() (io.ReadCloser, error) {
	r, _, err := l.b.OpenEntry(BlobPath(l.desc.Digest.String()))
	if err != nil {
		return nil, err
	}
	return io.NopCloser(r), nil
}
