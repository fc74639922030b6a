package imagebuild

import (
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// uidString is the image's user:group, numeric so that no /etc/passwd is needed.
var uidString = strconv.Itoa(UID) + ":" + strconv.Itoa(UID)

// Port is the port the registry listens on by default, recorded as exposed.
const Port = "5000/tcp"

// image wraps the layer in an OCI image for one platform: entrypoint, user, port, fixed times.
func image(layer v1.Layer, p platform, version string) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "images/registry/build " + version, Comment: "the registry, a static Go binary"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.os, p.arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint:   []string{BinaryPath},
		User:         uidString,
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{Port: {}},
		Labels:       labels(version),
	}
	return mutate.ConfigFile(img, cf)
}

// index combines the per-platform images, in the order given.
func index(images []v1.Image, platforms []platform, version string) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        plainImage{img},
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: platforms[i].os, Architecture: platforms[i].arch}},
		})
	}
	return mutate.Annotations(idx, labels(version)).(v1.ImageIndex)
}

// plainImage keeps go-containerregistry from copying the config's media type into the index as
// an artifactType: optional for an image, not what docker or containerd write, and some tools
// take a descriptor with an artifactType for a non-image artifact.
type plainImage struct{ v1.Image }

func (plainImage) ArtifactType() (string, error) { return "", nil }

func labels(version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":   "airgap registry",
		"org.opencontainers.image.version": version,
		"org.opencontainers.image.source":  "https://github.com/openairgap/terraform-provider-airgap/tree/main/images/registry",
	}
}
