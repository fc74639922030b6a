package registry

import (
	"context"
	"testing"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

func TestCheckReportsDeletedManifestsAndMovedTags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, reg target) {
		ctx := context.Background()
		b := openSample(t)
		_, err := Mirror(ctx, b, plainTarget(reg.host, nil))
		must(t, err)

		c := newCounter()
		drifts, err := Check(ctx, b, plainTarget(reg.host, c))
		must(t, err)
		if len(drifts) != 0 {
			t.Fatalf("drift right after a mirror: %v", drifts)
		}
		if c.total() != c.get("head")+c.get("get") || c.get("get") > 2 { // the ping tries https, then http
			t.Fatalf("Check made requests other than HEADs (and the ping): %v", c.counts)
		}

		app, sidecar, tool := b.BOM.Images[0], b.BOM.Images[1], b.BOM.Images[2]
		cl := testClient(t, reg.host)
		// Someone deletes app's arm64 manifest, points sidecar:1.0 at its amd64 manifest and
		// deletes tool's tag.
		gone := app.Platforms[1].Digest
		_, err = cl.deleteManifest(ctx, "samples/app", gone)
		must(t, err)
		moved := sidecar.Platforms[0].Digest
		raw, err := b.ReadEntry(bundle.BlobPath(moved), maxManifestSize)
		must(t, err)
		must(t, cl.putManifest(ctx, "samples/sidecar", sidecar.Tag, manifestMediaType(raw, ""), raw))
		_, err = cl.deleteManifest(ctx, "samples/tool", tool.Tag)
		must(t, err)

		drifts, err = Check(ctx, b, plainTarget(reg.host, nil))
		must(t, err)
		want := []Drift{
			{Image: app.Ref, Reference: reg.host + "/samples/app@" + gone, Kind: ManifestMissing, Want: gone},
			{Image: sidecar.Ref, Reference: reg.host + "/samples/sidecar:1.0", Kind: TagMoved, Want: sidecar.Digest, Got: moved},
			{Image: tool.Ref, Reference: reg.host + "/samples/tool:1.0", Kind: TagMissing, Want: tool.Digest},
		}
		if len(drifts) != len(want) {
			t.Fatalf("got drifts %v, want %v", drifts, want)
		}
		for i := range want {
			if drifts[i] != want[i] {
				t.Errorf("drift %d: got %+v, want %+v", i, drifts[i], want[i])
			}
		}

		// A re-apply repairs all of it.
		_, err = Mirror(ctx, b, plainTarget(reg.host, nil))
		must(t, err)
		drifts, err = Check(ctx, b, plainTarget(reg.host, nil))
		must(t, err)
		if len(drifts) != 0 {
			t.Fatalf("drift after the repairing mirror: %v", drifts)
		}
	})
}
