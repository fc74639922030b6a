package bundle

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Precheck finds, without contacting any registry, images that the spec's manifests and charts
// use but its image list cannot carry, so that a plan fails before a build starts. A reference by
// digest passes when its repository is listed; the build checks the digest itself.
func Precheck(spec Spec) error {
	ix := imageIndex{byTag: map[string]bool{}, byDigest: map[string]bool{}}
	repos := map[string]bool{}
	for _, is := range spec.Images {
		ref, err := name.ParseReference(is.Ref)
		if err != nil {
			return fmt.Errorf("image %q: %w", is.Ref, err)
		}
		repo := NormalizedName(ref.Context())
		repos[repo] = true
		switch r := ref.(type) {
		case name.Tag:
			ix.byTag[repo+":"+r.TagStr()] = true
		case name.Digest:
			ix.byDigest[repo+"@"+r.DigestStr()] = true
		}
	}
	check := func(what string, refs []string) error {
		for _, r := range refs {
			if ref, err := name.ParseReference(r); err == nil {
				if _, isDigest := ref.(name.Digest); isDigest && repos[NormalizedName(ref.Context())] {
					continue
				}
			}
			if err := requireCarried(ix, what, []string{r}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range spec.Manifests {
		data, err := readLimited(p, MaxManifestSize)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", p, err)
		}
		refs, err := ScanImages(data)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", p, err)
		}
		if err := check("manifest "+p, refs); err != nil {
			return err
		}
	}
	for _, c := range spec.Charts {
		refs, _, err := renderChartImages(c, spec.Created)
		if err != nil {
			return err
		}
		if err := check("chart "+c.Path, refs); err != nil {
			return err
		}
	}
	return nil
}
