package registry

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRemoveDeletesTagsAndManifestsButNoBlob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, reg target) {
		ctx := context.Background()
		b := openSample(t)
		_, err := Mirror(ctx, b, plainTarget(reg.host, nil))
		must(t, err)
		p := mustPlan(t, b, reg.host)

		c := newCounter()
		rm, err := Remove(ctx, b, plainTarget(reg.host, c), nil)
		must(t, err)
		manifests := len(p.allManifests())
		if rm.TagsDeleted != len(p.tags) || rm.ManifestsDeleted != manifests || rm.ManifestsKept != 0 {
			t.Fatalf("removed %+v, expected %d tags and %d manifests", rm, len(p.tags), manifests)
		}
		if n := c.get("delete"); n != len(p.tags)+manifests {
			t.Fatalf("%d DELETE requests for %d tags and %d manifests: a blob was deleted?", n, len(p.tags), manifests)
		}
		cl := testClient(t, reg.host)
		for _, m := range p.allManifests() {
			if d, err := cl.manifestDigest(ctx, m.repo, m.digest); err != nil || d != "" {
				t.Fatalf("manifest %s is still there (%v)", m.key(), err)
			}
		}
		for _, pm := range p.platforms {
			for _, blob := range pm.blobs {
				ok, err := cl.blobExists(ctx, pm.repo, blob)
				must(t, err)
				if !ok {
					t.Fatalf("blob %s was deleted from %s: blobs belong to the garbage collector", blob, pm.repo)
				}
			}
		}
		drifts, err := Check(ctx, b, plainTarget(reg.host, nil))
		must(t, err)
		if len(drifts) != manifests+len(p.tags) {
			t.Fatalf("after Remove, Check reports %d drifts, expected everything missing: %v", len(drifts), drifts)
		}

		again, err := Remove(ctx, b, plainTarget(reg.host, nil), nil)
		must(t, err)
		if *again != (Removal{}) {
			t.Fatalf("removing twice deleted %+v", again)
		}
	})
}

func TestRemoveKeepsWhatAnotherMirrorNeedsAndMovedTags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, reg target) {
		ctx := context.Background()
		b := openSample(t)
		_, err := Mirror(ctx, b, plainTarget(reg.host, nil))
		must(t, err)
		app, sidecar := b.BOM.Images[0], b.BOM.Images[1]
		// Someone else's image now holds sidecar:1.0.
		img, err := random.Image(1024, 1)
		must(t, err)
		moved, err := name.ParseReference(reg.host + "/samples/sidecar:1.0")
		must(t, err)
		must(t, remote.Write(moved, img))
		theirs, err := img.Digest()
		must(t, err)

		rm, err := Remove(ctx, b, plainTarget(reg.host, nil), func(d string) bool { return d == app.Digest })
		must(t, err)
		if rm.ManifestsKept != 1+len(app.Platforms) || rm.TagsDeleted != 1 {
			t.Fatalf("removed %+v: expected app's index and platforms kept, and only tool's tag deleted", rm)
		}
		cl := testClient(t, reg.host)
		for _, d := range append([]string{app.Digest, app.Platforms[0].Digest, app.Platforms[1].Digest}, app.Tag) {
			if got, err := cl.manifestDigest(ctx, "samples/app", d); err != nil || got == "" {
				t.Fatalf("samples/app %s was removed though kept (%v)", d, err)
			}
		}
		if got, err := cl.manifestDigest(ctx, "samples/sidecar", sidecar.Tag); err != nil || got != theirs.String() {
			t.Fatalf("the moved tag sidecar:1.0 now resolves to %q (%v), expected it left on %s", got, err, theirs)
		}
		if got, _ := cl.manifestDigest(ctx, "samples/sidecar", sidecar.Digest); got != "" {
			t.Fatalf("sidecar's index was not removed")
		}
	})
}
