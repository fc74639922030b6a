package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

func TestMirrorPushesEveryPlatformAndAReapplySendsNoBlob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, reg target) {
		b := openSample(t)
		c := newCounter()
		var logged []string
		res, err := Mirror(context.Background(), b, plainTarget(reg.host, c), WithLogger(func(msg string, _ map[string]any) { logged = append(logged, msg) }))
		must(t, err)
		assertMirrored(t, b, res)
		unique := uniqueBlobs(b)
		if res.BlobsUploaded != unique {
			t.Errorf("uploaded %d blobs, the bundle has %d unique ones: each must be sent exactly once", res.BlobsUploaded, unique)
		}
		if c.get("blob put") != unique {
			t.Errorf("%d blob PUTs for %d unique blobs", c.get("blob put"), unique)
		}
		if res.BytesSent != res.BytesRead || res.BytesSent == 0 {
			t.Errorf("sent %d bytes, read %d", res.BytesSent, res.BytesRead)
		}
		if reg.backend == "distribution" && res.BlobsMounted == 0 {
			t.Errorf("Distribution mounts: the shared base layer should have been mounted, got %+v", res)
		}
		if res.TagsSet != len(b.BOM.Images) || res.ManifestsPresent != 0 {
			t.Errorf("first run: %+v", res)
		}
		if !contains(logged, "image mirrored") || !contains(logged, "blob uploaded") {
			t.Errorf("logged %v", logged)
		}

		c.reset()
		again, err := Mirror(context.Background(), b, plainTarget(reg.host, c))
		must(t, err)
		if n := c.blobWrites(); n != 0 || again.BytesRead != 0 || again.BlobsUploaded+again.BlobsMounted != 0 {
			t.Fatalf("a re-apply with nothing to do sent %d blob requests and read %d bytes: %+v", n, again.BytesRead, again)
		}
		if again.ManifestsPushed != 0 || again.TagsSet != 0 || c.get("manifest put") != 0 {
			t.Fatalf("a re-apply with nothing to do pushed manifests: %+v", again)
		}
		if c.total() != c.get("head")+c.get("get") { // the ping is a GET
			t.Fatalf("a re-apply made requests other than HEADs: %v", c.counts)
		}
		assertMirrored(t, b, again)
	})
}

func TestMirrorUnderAPrefix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, reg target) {
		b := openSample(t)
		tg := plainTarget(reg.host, nil)
		tg.Prefix = "airgap/v1"
		res, err := Mirror(context.Background(), b, tg)
		must(t, err)
		for _, mi := range res.Images {
			if !strings.HasPrefix(mi.Mirrored, reg.host+"/airgap/v1/samples/") {
				t.Fatalf("%s is not under the prefix", mi.Mirrored)
			}
		}
		assertMirrored(t, b, res)
	})
}

func TestMirrorContinuesAfterCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, reg target) {
		b := openSample(t)
		c := newCounter()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var puts atomic.Int32
		c.setAfter(func(r *http.Request, resp *http.Response) {
			if requestKind(r) == "blob put" && resp.StatusCode == http.StatusCreated && puts.Add(1) == 3 {
				cancel() // after three blobs, the run is cut off
			}
		})
		first, err := Mirror(ctx, b, plainTarget(reg.host, c))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("expected the cancelled run to fail with context.Canceled, got %v", err)
		}
		if c.get("manifest put") != 0 {
			t.Fatalf("a run cancelled during the blobs pushed %d manifests", c.get("manifest put"))
		}

		c.setAfter(nil)
		c.reset()
		second, err := Mirror(context.Background(), b, plainTarget(reg.host, c))
		must(t, err)
		assertMirrored(t, b, second)
		if got := first.BlobsUploaded + second.BlobsUploaded; got > uniqueBlobs(b)+1 {
			t.Errorf("the two runs uploaded %d blobs for %d unique ones: the second did not continue", got, uniqueBlobs(b))
		}
		if first.BlobsUploaded == 0 || second.BlobsSkipped == 0 {
			t.Errorf("the cancelled run should have finished some blobs and the second skipped them: %+v then %+v", first, second)
		}
	})
}

func TestMirrorContinuesAfterTheRegistryDies(t *testing.T) {
	reg := backends[1].start(t) // Distribution, restarted on the same storage
	b := openSample(t)
	c := newCounter()
	var puts atomic.Int32
	c.setAfter(func(r *http.Request, resp *http.Response) {
		if requestKind(r) == "blob put" && puts.Add(1) == 3 {
			reg.stop() // killed after three blobs, while others are in flight
		}
	})
	if _, err := Mirror(context.Background(), b, plainTarget(reg.host, c)); err == nil {
		t.Fatal("the run survived its registry being killed")
	}
	reg.restart(t)
	c.setAfter(nil)
	res, err := Mirror(context.Background(), b, plainTarget(reg.host, c))
	must(t, err)
	assertMirrored(t, b, res)
	if res.BlobsSkipped == 0 {
		t.Errorf("nothing of the first run survived the restart: %+v", res)
	}
}

// The bundle changes between its verification and the mirror. Verified in this process, the
// bundle is sealed and the changed chunk is refused by its seal; never verified, the blob is
// hashed as it streams and its last chunk withheld. Either way the blob is not committed and no
// manifest is pushed.
func TestMirrorRefusesATamperedBlobBeforeAnyManifest(t *testing.T) {
	for _, verified := range []bool{true, false} {
		t.Run(fmt.Sprintf("verified=%v", verified), func(t *testing.T) { testTamperedBlob(t, verified) })
	}
}

func testTamperedBlob(t *testing.T, verified bool) {
	forEachBackend(t, func(t *testing.T, reg target) {
		path, policy := copySample(t)
		b, err := bundle.Open(path, policy)
		must(t, err)
		t.Cleanup(func() { b.Close() })
		if verified {
			must(t, b.VerifyPayload(context.Background()))
		}
		// Flip a byte in the base layer, in its last chunk.
		layer := largestLayer(b)
		e, _ := b.BOM.EntryByPath(bundle.BlobPath(layer))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		must(t, err)
		buf := []byte{0}
		at := b.EntryOffset(e) + e.Size - 10
		_, err = f.ReadAt(buf, at)
		must(t, err)
		buf[0] ^= 0xff
		_, err = f.WriteAt(buf, at)
		must(t, err)
		must(t, f.Close())

		c := newCounter()
		_, err = Mirror(context.Background(), b, plainTarget(reg.host, c))
		var de *DigestError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), layer) {
			t.Fatalf("expected a DigestError naming %s, got %v", layer, err)
		}
		if sealed := de.Changed != nil; sealed != verified {
			t.Fatalf("the seal caught it: %v, want %v (%v)", sealed, verified, err)
		}
		if n := c.get("manifest put"); n != 0 {
			t.Fatalf("%d manifests were pushed after a blob failed its digest", n)
		}
		cl := testClient(t, reg.host)
		for _, ip := range mustPlan(t, b, reg.host).images {
			ok, err := cl.blobExists(context.Background(), ip.repo, layer)
			must(t, err)
			if ok {
				t.Fatalf("the tampered blob was committed to %s", ip.repo)
			}
		}
	})
}

func TestMirrorOverTLS(t *testing.T) {
	srv := newTLSRegistry(t)
	b := openSample(t)
	tg := Target{Host: srv.host, Transport: srv.transport}
	res, err := Mirror(context.Background(), b, tg)
	must(t, err)
	if res.BlobsUploaded != uniqueBlobs(b) {
		t.Fatalf("%+v", res)
	}
	drifts, err := Check(context.Background(), b, tg)
	must(t, err)
	if len(drifts) != 0 {
		t.Fatalf("drift right after a mirror over TLS: %v", drifts)
	}
}

func TestMirrorImageCarriedByDigestOnly(t *testing.T) {
	reg := backends[0].start(t)
	b := openSample(t)
	byDigest := *b // the same bundle, with tool carried by digest only
	bom := *b.BOM
	bom.Images = append([]bundle.Image(nil), b.BOM.Images...)
	bom.Images[2].Tag = ""
	byDigest.BOM = &bom
	c := newCounter()
	res, err := Mirror(context.Background(), &byDigest, plainTarget(reg.host, c))
	must(t, err)
	if res.Images[2].Tagged != "" || res.TagsSet != 2 {
		t.Fatalf("an untagged image got a tag: %+v", res)
	}
	d, err := testClient(t, reg.host).manifestDigest(context.Background(), "samples/tool", bom.Images[2].Digest)
	must(t, err)
	if d != bom.Images[2].Digest {
		t.Fatalf("samples/tool@%s is not there", bom.Images[2].Digest)
	}
	if tag, _ := testClient(t, reg.host).manifestDigest(context.Background(), "samples/tool", "1.0"); tag != "" {
		t.Fatalf("samples/tool:1.0 was set")
	}
}

func TestMirrorRefusesConflictingTags(t *testing.T) {
	b := openSample(t)
	bom := *b.BOM
	bom.Images = append(bom.Images[:0:0], b.BOM.Images...)
	other := bom.Images[2]
	other.Name = "elsewhere.example/samples/app" // same path as samples/app, another image
	other.Tag = bom.Images[0].Tag
	bom.Images = append(bom.Images, other)
	_, err := newPlan(&bom, Target{Host: "127.0.0.1:5000"})
	if err == nil || !strings.Contains(err.Error(), "samples/app:1.0") {
		t.Fatalf("expected a conflict on samples/app:1.0, got %v", err)
	}
}

func uniqueBlobs(b *bundle.Bundle) int {
	seen := map[string]bool{}
	for _, img := range b.BOM.Images {
		for _, p := range img.Platforms {
			seen[p.Config] = true
			for _, l := range p.Layers {
				seen[l] = true
			}
		}
	}
	return len(seen)
}

func largestLayer(b *bundle.Bundle) string {
	var best string
	var size int64 = -1
	for _, img := range b.BOM.Images {
		for _, p := range img.Platforms {
			for _, l := range p.Layers {
				if e, _ := b.BOM.EntryByPath(bundle.BlobPath(l)); e.Size > size {
					best, size = l, e.Size
				}
			}
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
