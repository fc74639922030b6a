package imagebuild

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Binary reads the registry binary for platform ("linux/amd64") back out of a layout that Build
// wrote, from the image's layer: what a container runtime would run.
func Binary(dir, platform string) ([]byte, error) {
	img, err := PlatformImage(dir, platform)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("%s image has %d layers, want 1", platform, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s image has no %s", platform, BinaryPath)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == BinaryPath[1:] {
			return io.ReadAll(tr)
		}
	}
}

// PlatformImage returns the image for platform from the single index in a layout Build wrote.
func PlatformImage(dir, platform string) (v1.Image, error) {
	idx, err := Index(dir)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture == platform {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s: no image for %s", dir, platform)
}

// Index returns the image index of a layout Build wrote, which holds exactly one.
func Index(dir string) (v1.ImageIndex, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 || !im.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("%s/index.json: want exactly one image index", dir)
	}
	return top.ImageIndex(im.Manifests[0].Digest)
}
