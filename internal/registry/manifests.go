package registry

import (
	"context"
	"fmt"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// maxManifestSize is the largest manifest the engine reads from a bundle; Distribution refuses
// larger ones too.
const maxManifestSize = 4 << 20

// pushManifests pushes what the target lacks in three waves: per-platform manifests, then
// indexes, then tags. Each wave starts only when the previous one is complete, so an index never
// names a missing manifest and a tag never moves to an incomplete image. A manifest that a tag
// will name (and no index does) is pushed once, by its tag, in the last wave: that stores it
// under its digest too.
func (m *mirror) pushManifests(ctx context.Context, st *state) error {
	var tags []tagRef
	byTag := map[string]bool{} // repo@digest that a tag push will store
	for _, t := range m.p.tags {
		if st.tagDigest(t) != t.digest {
			tags = append(tags, t)
			byTag[t.repo+"@"+t.digest] = true
		}
	}
	children := m.p.indexChildren()
	var platforms, indexes []manifestRef
	for _, pm := range m.p.platforms {
		if !st.hasManifest(pm.manifestRef) && (!byTag[pm.key()] || children[pm.key()]) {
			platforms = append(platforms, pm.manifestRef)
		}
	}
	for _, r := range m.p.indexes {
		if !st.hasManifest(r) && !byTag[r.key()] {
			indexes = append(indexes, r)
		}
	}
	for _, wave := range [][]manifestRef{platforms, indexes} {
		err := forEach(ctx, m.o.jobs, len(wave), func(ctx context.Context, i int) error {
			if err := m.pushManifest(ctx, wave[i], wave[i].digest); err != nil {
				return err
			}
			m.pushed.Add(1)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return forEach(ctx, m.o.jobs, len(tags), func(ctx context.Context, i int) error {
		t := tags[i]
		ref := manifestRef{repo: t.repo, digest: t.digest, image: t.image}
		if err := m.pushManifest(ctx, ref, t.tag); err != nil {
			return err
		}
		if !st.hasManifest(ref) {
			m.pushed.Add(1)
		}
		m.tagged.Add(1)
		m.log("tag set", map[string]any{"image": t.image, "tag": m.p.target.Host + "/" + t.key(), "digest": t.digest})
		return nil
	})
}

// pushManifest puts a manifest's bundle bytes, checked against the signed BOM as they are read,
// under ref (its digest, or a tag).
func (m *mirror) pushManifest(ctx context.Context, r manifestRef, ref string) error {
	raw, err := m.b.ReadEntry(bundle.BlobPath(r.digest), maxManifestSize)
	if err != nil {
		return fmt.Errorf("image %s: reading manifest %s: %w", r.image, r.digest, err)
	}
	mt := manifestMediaType(raw, m.mediaTypeInBOM(r.digest))
	if err := m.c.putManifest(ctx, r.repo, ref, mt, raw); err != nil {
		return fmt.Errorf("image %s: pushing manifest %s to %s/%s:%s: %w", r.image, r.digest, m.p.target.Host, r.repo, ref, err)
	}
	return nil
}

// mediaTypeInBOM is the media type the BOM records for a top-level manifest, if it is one.
func (m *mirror) mediaTypeInBOM(digest string) string {
	for _, ip := range m.p.images {
		if ip.img.Digest == digest {
			return ip.img.MediaType
		}
	}
	return ""
}
