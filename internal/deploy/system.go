package deploy

import (
	"fmt"
	"strings"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/inject"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
)

// System is what a verified system bundle (scripts/system-bundle.sh) gives a cluster: the
// registry's image, and the injector payload that serves it before there is a registry.
type System struct {
	Image      bundle.Image // the registry's image, as the BOM records it
	Repository string       // its repository in the injector and in the registry: "openairgap/registry"
	Tag        string
	Payload    inject.Payload // Images: the registry's image index; Injectors: by architecture
}

// InjectorFilePrefix names the injector files of a system bundle: injector-linux-amd64, ...
const InjectorFilePrefix = "injector-linux-"

// FromBundle reads the registry image and the injectors of system bundle b, which the caller
// has opened with its trust policy. image picks the registry's image by reference (as the BOM
// records it, or its repository name); empty: the bundle's only image. Each injector is read
// through the BOM's digest.
func FromBundle(b *bundle.Bundle, image string) (*System, error) {
	img, err := pickImage(b.BOM, image)
	if err != nil {
		return nil, err
	}
	_, path, _ := strings.Cut(img.Name, "/") // without the registry host, as Mirror pushes it
	tag := img.Tag
	if tag == "" {
		return nil, fmt.Errorf("system bundle: image %s has no tag; the injector serves images by tag", img.Ref)
	}
	_, idx, err := b.Image(img)
	if err != nil {
		return nil, fmt.Errorf("system bundle: image %s: %w", img.Ref, err)
	}
	if idx == nil {
		return nil, fmt.Errorf("system bundle: image %s is a single-platform image; the registry image is an index (amd64 and arm64)", img.Ref)
	}
	sys := &System{Image: img, Repository: path, Tag: tag, Payload: inject.Payload{
		Images:    []inject.PayloadImage{{Repository: path, Tag: tag, Index: idx}},
		Injectors: map[string][]byte{},
	}}
	for _, f := range b.BOM.Files {
		arch, ok := strings.CutPrefix(f.Name, InjectorFilePrefix)
		if !ok {
			continue
		}
		bin, err := b.ReadEntry(f.Path, inject.MaxChunkSize)
		if err != nil {
			return nil, fmt.Errorf("system bundle: injector %s: %w", f.Name, err)
		}
		sys.Payload.Injectors[arch] = bin
	}
	if len(sys.Payload.Injectors) == 0 {
		return nil, fmt.Errorf("system bundle carries no injector (files named %s<arch>): is it a system bundle?", InjectorFilePrefix)
	}
	return sys, nil
}

func pickImage(bom *bundle.BOM, want string) (bundle.Image, error) {
	var refs []string
	for _, img := range bom.Images {
		refs = append(refs, img.Ref)
		if want != "" && (img.Ref == want || img.Name == want || strings.HasSuffix(img.Name, "/"+want)) {
			return img, nil
		}
	}
	switch {
	case want == "" && len(bom.Images) == 1:
		return bom.Images[0], nil
	case want == "":
		return bundle.Image{}, fmt.Errorf("system bundle carries %d images (%s): name the registry's", len(refs), strings.Join(refs, ", "))
	}
	return bundle.Image{}, fmt.Errorf("system bundle has no image %q; it has %s", want, strings.Join(refs, ", "))
}

// SeedImage is the registry's image as injection endpoint serves it, pinned by digest.
func (s *System) SeedImage(endpoint string) string {
	return endpoint + "/" + s.Repository + "@" + s.Image.Digest
}

// SelfImage is the registry's image in the registry at endpoint, as Mirror pushes it.
func (s *System) SelfImage(endpoint string) (string, error) {
	return registry.Target{Host: endpoint}.Reference(s.Image)
}
