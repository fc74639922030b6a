package registry

import (
	"context"
	"fmt"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// DriftKind says how a mirrored image differs from the bundle.
type DriftKind string

const (
	ManifestMissing DriftKind = "manifest missing"
	TagMissing      DriftKind = "tag missing"
	TagMoved        DriftKind = "tag moved"
)

// Drift is one thing the target no longer holds as the bundle put it.
type Drift struct {
	Image     string // the image's reference in the BOM
	Reference string // what was looked up: host/repository@digest or host/repository:tag
	Kind      DriftKind
	Want      string // the bundle's digest
	Got       string // what the tag points at now; "" when missing
}

func (d Drift) String() string {
	if d.Kind == TagMoved {
		return fmt.Sprintf("%s: %s now points at %s, not %s", d.Image, d.Reference, d.Got, d.Want)
	}
	return fmt.Sprintf("%s: %s (%s)", d.Image, d.Kind, d.Reference)
}

// Check reports how the target differs from what Mirror put there: a manifest or index of the
// bundle no longer present by its digest, a tag gone or pointing at another digest. It makes
// HEAD requests only and reads no blob, so Read can call it on every refresh. No drift is an
// empty slice.
func Check(ctx context.Context, b *bundle.Bundle, target Target, opts ...Option) ([]Drift, error) {
	o := newOptions(opts)
	p, err := newPlan(b.BOM, target)
	if err != nil || len(p.images) == 0 {
		return []Drift{}, err
	}
	c, err := newClient(ctx, target, p.repos, scopePull, o.jobs)
	if err != nil {
		return nil, err
	}
	defer c.close()
	st, err := survey(ctx, c, p, o.jobs)
	if err != nil {
		return nil, err
	}
	drifts := []Drift{}
	for _, r := range p.allManifests() {
		if !st.hasManifest(r) {
			drifts = append(drifts, Drift{Image: r.image, Reference: target.Host + "/" + r.key(), Kind: ManifestMissing, Want: r.digest})
		}
	}
	for _, t := range p.tags {
		got := st.tagDigest(t)
		switch {
		case got == "":
			drifts = append(drifts, Drift{Image: t.image, Reference: target.Host + "/" + t.key(), Kind: TagMissing, Want: t.digest})
		case got != t.digest:
			drifts = append(drifts, Drift{Image: t.image, Reference: target.Host + "/" + t.key(), Kind: TagMoved, Want: t.digest, Got: got})
		}
	}
	for _, d := range drifts {
		o.log("registry drift", map[string]any{"image": d.Image, "reference": d.Reference, "kind": string(d.Kind), "want": d.Want, "got": d.Got})
	}
	return drifts, nil
}
