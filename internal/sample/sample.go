package sample

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is one sample image: a repository path and tag, and the image or index.
type Image struct {
	Repo  string
	Tag   string
	Index v1.ImageIndex // set for multi-platform images
	Image v1.Image      // set for single-platform images
}

// Platforms are the two architectures every multi-platform sample carries.
var Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// Set returns the sample images: "samples/app" and "samples/sidecar" for linux/amd64 and
// linux/arm64, sharing a base layer, and "samples/tool" for linux/amd64 only. layerSize scales
// every layer; the same layerSize always gives the same digests.
func Set(layerSize int) ([]Image, error) {
	base, err := Layer("base", layerSize)
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, name := range []string{"app", "sidecar"} {
		var idx v1.ImageIndex = empty.Index
		for _, p := range Platforms {
			top, err := Layer(name+"-"+p.Architecture, layerSize/2)
			if err != nil {
				return nil, err
			}
			img, err := imageOf(p, base, top)
			if err != nil {
				return nil, err
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		}
		out = append(out, Image{Repo: "samples/" + name, Tag: "1.0", Index: mutate.IndexMediaType(idx, types.OCIImageIndex)})
	}
	top, err := Layer("tool", layerSize/4)
	if err != nil {
		return nil, err
	}
	tool, err := imageOf(Platforms[0], base, top)
	if err != nil {
		return nil, err
	}
	return append(out, Image{Repo: "samples/tool", Tag: "1.0", Image: tool}), nil
}

// Push writes the images to a registry under host.
func Push(host string, images []Image, opts ...remote.Option) ([]string, error) {
	var refs []string
	for _, img := range images {
		ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", host, img.Repo, img.Tag))
		if err != nil {
			return nil, err
		}
		if img.Index != nil {
			err = remote.WriteIndex(ref, img.Index, opts...)
		} else {
			err = remote.Write(ref, img.Image, opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
		refs = append(refs, ref.String())
	}
	return refs, nil
}

// Layer is a gzip'ed tar holding one file of size pseudo-random bytes seeded by name.
func Layer(name string, size int) (v1.Layer, error) {
	seed := uint64(0)
	for _, c := range name {
		seed = seed*131 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(size)))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{Name: "data/" + name, Mode: 0o644, Size: int64(size), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	compressed := buf.Bytes()
	// The tarball package keeps gzip'ed bytes as they are and computes the uncompressed DiffID
	// the image config needs.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

func imageOf(p v1.Platform, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layers...)
}
