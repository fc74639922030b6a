package registry

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// Removal is what a Remove did.
type Removal struct {
	TagsDeleted      int
	ManifestsDeleted int
	// ManifestsKept counts manifests left because keep asked for them (or for an index that
	// names them).
	ManifestsKept int
}

// Remove deletes the tags and manifests that b put into target: tags first (only those that
// still point at the bundle's digest: a tag someone moved is theirs now), then indexes, then
// per-platform manifests. It never deletes a blob; the registry's garbage collector owns blobs
// and knows which other manifests still use them. keep names the digests another mirror still
// needs; they, their tags and the manifests of a kept index are left in place. Manifests
// already gone are not an error.
func Remove(ctx context.Context, b *bundle.Bundle, target Target, keep func(digest string) bool, opts ...Option) (*Removal, error) {
	o := newOptions(opts)
	if keep == nil {
		keep = func(string) bool { return false }
	}
	p, err := newPlan(b.BOM, target)
	if err != nil || len(p.images) == 0 {
		return &Removal{}, err
	}
	c, err := newClient(ctx, target, p.repos, scopeDelete, o.jobs)
	if err != nil {
		return nil, err
	}
	defer c.close()
	kept := keptManifests(p, keep)
	r := &remover{c: c, p: p, o: o}
	if err := r.deleteTags(ctx, kept); err != nil {
		return r.result(), err
	}
	var indexes, platforms []manifestRef
	for _, m := range p.allManifests() {
		switch {
		case kept[m.key()]:
			r.kept.Add(1)
		case p.isIndex(m.digest):
			indexes = append(indexes, m)
		default:
			platforms = append(platforms, m)
		}
	}
	// Indexes before the manifests they name, so no index is left pointing at nothing.
	for _, wave := range [][]manifestRef{indexes, platforms} {
		if err := r.deleteManifests(ctx, wave); err != nil {
			return r.result(), err
		}
	}
	return r.result(), nil
}

// keptManifests is every manifest keep asks for, with the platforms of every kept index.
func keptManifests(p *plan, keep func(string) bool) map[string]bool {
	kept := map[string]bool{}
	for _, ip := range p.images {
		top := keep(ip.img.Digest)
		if top {
			kept[ip.repo+"@"+ip.img.Digest] = true
		}
		for _, pl := range ip.img.Platforms {
			if top || keep(pl.Digest) {
				kept[ip.repo+"@"+pl.Digest] = true
			}
		}
	}
	return kept
}

type remover struct {
	c *client
	p *plan
	o options

	tags, manifests, kept atomic.Int64
}

func (r *remover) result() *Removal {
	return &Removal{TagsDeleted: int(r.tags.Load()), ManifestsDeleted: int(r.manifests.Load()), ManifestsKept: int(r.kept.Load())}
}

// deleteTags deletes each tag that still points at the bundle's digest. A registry that cannot
// delete tags (Distribution before v3) drops them with the manifest they point at instead.
func (r *remover) deleteTags(ctx context.Context, kept map[string]bool) error {
	var tags []tagRef
	for _, t := range r.p.tags {
		if !kept[t.repo+"@"+t.digest] {
			tags = append(tags, t)
		}
	}
	return forEach(ctx, r.o.jobs, len(tags), func(ctx context.Context, i int) error {
		t := tags[i]
		d, err := r.c.manifestDigest(ctx, t.repo, t.tag)
		if err != nil {
			return fmt.Errorf("image %s: looking up tag %s: %w", t.image, t.key(), err)
		}
		if d != t.digest {
			if d != "" {
				r.o.log("tag left in place", map[string]any{"image": t.image, "tag": r.p.target.Host + "/" + t.key(), "digest": d, "reason": "it points at another image now"})
			}
			return nil
		}
		found, err := r.c.deleteManifest(ctx, t.repo, t.tag)
		if errors.Is(err, errDeleteUnsupported) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("image %s: deleting tag %s: %w", t.image, t.key(), err)
		}
		if found {
			r.tags.Add(1)
			r.o.log("tag deleted", map[string]any{"image": t.image, "tag": r.p.target.Host + "/" + t.key()})
		}
		return nil
	})
}

func (r *remover) deleteManifests(ctx context.Context, refs []manifestRef) error {
	return forEach(ctx, r.o.jobs, len(refs), func(ctx context.Context, i int) error {
		m := refs[i]
		found, err := r.c.deleteManifest(ctx, m.repo, m.digest)
		if err != nil {
			return fmt.Errorf("image %s: deleting manifest %s from %s: %w", m.image, m.digest, m.repo, err)
		}
		if found {
			r.manifests.Add(1)
			r.o.log("manifest deleted", map[string]any{"image": m.image, "manifest": r.p.target.Host + "/" + m.key()})
		}
		return nil
	})
}

// isIndex reports whether digest is one of the plan's indexes.
func (p *plan) isIndex(digest string) bool {
	for _, ip := range p.images {
		if ip.img.Digest == digest && types.MediaType(ip.img.MediaType).IsIndex() {
			return true
		}
	}
	return false
}
