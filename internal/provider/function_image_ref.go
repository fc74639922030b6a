package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
)

var _ function.Function = imageRefFunction{}

func newImageRefFunction() function.Function { return imageRefFunction{} }

// imageRefFunction rewrites an image reference to the registry a bundle was mirrored into, with
// the same rule as airgap_image_mirror, pinned by digest.
type imageRefFunction struct{}

func (imageRefFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "image_ref"
}

func (imageRefFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The in-cluster reference of an image a verified bundle carries, pinned by digest.",
		MarkdownDescription: "Rewrites `reference` to where `airgap_image_mirror` puts it in `registry`: the registry host replaced, the " +
			"repository path kept, the digest from the bundle's signed BOM pinned. Short Docker Hub names normalise the way " +
			"Kubernetes does: `nginx:1.27` is `docker.io/library/nginx:1.27`, so it becomes `REGISTRY/library/nginx@sha256:...`. " +
			"A reference the bundle does not carry is an error at plan time, not an ImagePullBackOff later. A reference by " +
			"digest may name the index or one platform's manifest; the result keeps that digest.",
		Parameters: []function.Parameter{
			function.ListParameter{Name: "images", ElementType: imageObjectType, MarkdownDescription: "The `images` of an `airgap_bundle` data source."},
			function.StringParameter{Name: "reference", MarkdownDescription: "The image as a manifest or chart writes it."},
			function.StringParameter{Name: "registry", MarkdownDescription: "The registry's `host:port`, as given to `airgap_image_mirror`."},
		},
		Return: function.StringReturn{},
	}
}

func (imageRefFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var images []imageModel
	var reference, host string
	resp.Error = req.Arguments.Get(ctx, &images, &reference, &host)
	if resp.Error != nil {
		return
	}
	out, err := rewriteReference(images, reference, host)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(1, err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, out)
}

// rewriteReference finds the bundle image reference names and maps it into registry.
func rewriteReference(images []imageModel, reference, host string) (string, error) {
	ref, err := name.ParseReference(reference)
	if err != nil {
		return "", fmt.Errorf("%q is not an image reference: %w", reference, err)
	}
	want := bundle.NormalizedName(ref.Context())
	var carried []string
	for _, img := range images {
		carried = append(carried, img.Ref)
		if img.Name != want {
			continue
		}
		digest := ""
		switch r := ref.(type) {
		case name.Tag:
			if img.Tag == r.TagStr() {
				digest = img.Digest
			}
		case name.Digest:
			digest = matchDigest(img, r.DigestStr())
		}
		if digest == "" {
			continue
		}
		return registry.Target{Host: host}.Reference(bundle.Image{Name: img.Name, Digest: digest})
	}
	return "", fmt.Errorf("the bundle does not carry %s (%s); it carries: %s", reference, want, strings.Join(carried, ", "))
}

// matchDigest returns d when it is the image's index, its source's, or one of its platforms'.
func matchDigest(img imageModel, d string) string {
	if d == img.Digest || d == img.SourceDigest {
		return img.Digest
	}
	for _, p := range img.Platforms {
		if p == d {
			return d
		}
	}
	return ""
}
