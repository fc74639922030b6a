package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Repository is the image's name in the layout; the version is its tag.
const Repository = "openairgap/registry"

// RefNameAnnotation names the index in the layout's index.json.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Platforms are the platforms built by default.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// Options says what to build and where.
type Options struct {
	Source    string    // directory of the registry's module (holding main.go)
	Version   string    // linked into the binary and used as the tag
	Out       string    // the OCI image layout to write; replaced as a whole on success
	Platforms []string  // "linux/amd64" ...; default Platforms
	Log       io.Writer // the compiler's output; default os.Stderr
}

// Result describes what was written.
type Result struct {
	RefName string  // the index's org.opencontainers.image.ref.name, Repository:Version
	Index   v1.Hash // the digest of the image index
	Images  []Image
}

// Image describes one platform's image.
type Image struct {
	Platform   string
	Digest     v1.Hash // of its manifest
	BinarySize int64   // the registry binary, uncompressed
	Size       int64   // manifest, config and compressed layer: what a pull transfers
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Build compiles the registry for each platform, packs the images, and writes the layout.
func Build(ctx context.Context, o Options) (*Result, error) {
	if !tagPattern.MatchString(o.Version) {
		return nil, fmt.Errorf("version %q is not a valid image tag", o.Version)
	}
	if o.Out == "" {
		return nil, errors.New("no output directory")
	}
	if len(o.Platforms) == 0 {
		o.Platforms = Platforms
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	platforms, err := parsePlatforms(o.Platforms)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(filepath.Dir(filepath.Clean(o.Out)), ".imagebuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	res := &Result{RefName: Repository + ":" + o.Version}
	var images []v1.Image
	for _, p := range platforms {
		bin, err := compile(ctx, o.Source, work, p, o.Version, o.Log)
		if err != nil {
			return nil, err
		}
		layer, binSize, err := binaryLayer(bin)
		if err != nil {
			return nil, fmt.Errorf("packing the %s binary: %w", p, err)
		}
		img, err := image(layer, p, o.Version)
		if err != nil {
			return nil, fmt.Errorf("building the %s image: %w", p, err)
		}
		info, err := describe(img, p, binSize)
		if err != nil {
			return nil, err
		}
		images = append(images, img)
		res.Images = append(res.Images, info)
	}
	idx := index(images, platforms, o.Version)
	if res.Index, err = idx.Digest(); err != nil {
		return nil, err
	}
	tmp := filepath.Join(work, "layout")
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefNameAnnotation: res.RefName})); err != nil {
		return nil, fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, err
	}
	return res, os.Rename(tmp, o.Out)
}

func describe(img v1.Image, p platform, binSize int64) (Image, error) {
	info := Image{Platform: p.String(), BinarySize: binSize}
	var err error
	if info.Digest, err = img.Digest(); err != nil {
		return info, err
	}
	m, err := img.Manifest()
	if err != nil {
		return info, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return info, err
	}
	info.Size = int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		info.Size += l.Size
	}
	return info, nil
}

type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

func parsePlatforms(list []string) ([]platform, error) {
	var out []platform
	for _, s := range list {
		os, arch, ok := strings.Cut(s, "/")
		if !ok || os != "linux" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want linux/ARCH", s)
		}
		out = append(out, platform{os, arch})
	}
	return out, nil
}
