package bundle

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestBuildVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	vendor := newKeyPair(t, "vendor")
	spec := f.spec("demo.tar")
	res := build(t, spec, vendor)
	b := openVerified(t, spec.Output, policyOf(vendor))

	if got := b.Signers; len(got) != 1 || got[0].Name != "vendor" || got[0].Fingerprint != res.Signers[0] {
		t.Fatalf("signers = %+v, want vendor with %s", got, res.Signers[0])
	}
	if b.BOMDigest != res.BOMDigest {
		t.Fatalf("BOM digest %s, build said %s", b.BOMDigest, res.BOMDigest)
	}
	app := b.BOM.Images[0]
	if len(app.Platforms) != 2 || app.Platforms[0].Platform != "linux/amd64" || app.Platforms[1].Platform != "linux/arm64" {
		t.Fatalf("app platforms = %+v", app.Platforms)
	}
	d, _ := f.app.Digest()
	if app.Digest != d.String() || app.SourceDigest != d.String() {
		t.Fatalf("app digest %s (source %s), registry has %s", app.Digest, app.SourceDigest, d)
	}
	// The sidecar shares three layers with the app's amd64 image: each is stored once.
	seen := map[string]int{}
	for _, e := range b.BOM.Entries {
		seen[e.Path]++
	}
	for _, l := range b.BOM.Images[1].Platforms[0].Layers {
		if seen[BlobPath(l)] != 1 {
			t.Fatalf("layer %s stored %d times", l, seen[BlobPath(l)])
		}
	}
	if len(b.BOM.Manifests) != 1 || len(b.BOM.Manifests[0].Images) != 2 {
		t.Fatalf("manifests = %+v", b.BOM.Manifests)
	}
	readme, err := b.ReadEntry("files/readme.txt", 1<<10)
	must(t, err)
	if string(readme) != "hello enclave\n" {
		t.Fatalf("readme = %q", readme)
	}
	st, err := os.Stat(spec.Output)
	must(t, err)
	if st.Size() != res.Size {
		t.Fatalf("file is %d bytes, result says %d", st.Size(), res.Size)
	}
}

func TestBuildIsReproducible(t *testing.T) {
	f := newFixture(t)
	a := build(t, f.spec("a.tar"))
	b := build(t, f.spec("b.tar"))
	if a.SHA256 != b.SHA256 || a.BOMDigest != b.BOMDigest {
		t.Fatalf("unsigned builds differ: %s/%s vs %s/%s", a.SHA256, a.BOMDigest, b.SHA256, b.BOMDigest)
	}
	ab, _ := os.ReadFile(a.Files[0])
	bb, _ := os.ReadFile(b.Files[0])
	if !bytes.Equal(ab, bb) {
		t.Fatal("unsigned builds of the same inputs are not byte-identical")
	}
	// Signed twice, the signatures differ (ECDSA is randomised) but BOM and payload do not.
	k := newKeyPair(t, "vendor")
	c := build(t, f.spec("c.tar"), k)
	if c.BOMDigest != a.BOMDigest {
		t.Fatalf("signing changed the BOM: %s vs %s", c.BOMDigest, a.BOMDigest)
	}
	cb, _ := os.ReadFile(c.Files[0])
	head, _, err := ReadHead(c.Files[0])
	must(t, err)
	if !bytes.Equal(cb[head.size:], ab[head.size:]) {
		t.Fatal("signing changed the payload")
	}
}

func TestPlatformSelection(t *testing.T) {
	f := newFixture(t)
	spec := f.spec("arm.tar")
	spec.Manifests, spec.Charts = nil, nil
	spec.Images = []ImageSpec{{Ref: f.host + "/team/app:1.0", Platforms: []string{"linux/arm64"}}}
	res := build(t, spec)
	img := res.BOM.Images[0]
	if len(img.Platforms) != 1 || img.Platforms[0].Platform != "linux/arm64" {
		t.Fatalf("platforms = %+v", img.Platforms)
	}
	if img.Digest == img.SourceDigest {
		t.Fatal("a filtered index must get a digest of its own")
	}

	spec.Images[0].Platforms = []string{"linux/arm64", "linux/s390x"}
	_, err := Build(context.Background(), spec, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "no linux/s390x manifest") || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Fatalf("missing platform: %v", err)
	}
	spec.Images = []ImageSpec{{Ref: f.host + "/team/sidecar:2.0", Platforms: []string{"linux/arm64"}}}
	_, err = Build(context.Background(), spec, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "single-platform image (linux/amd64)") {
		t.Fatalf("single-platform mismatch: %v", err)
	}
}

func TestUnvendoredImageFailsTheBuild(t *testing.T) {
	f := newFixture(t)
	spec := f.spec("x.tar")
	spec.Images = spec.Images[:1] // drop the sidecar the chart and the manifest use
	_, err := Build(context.Background(), spec, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "chart "+spec.Charts[0].Path) || !strings.Contains(err.Error(), "team/sidecar:2.0") {
		t.Fatalf("got %v, want an error naming the chart and the sidecar image", err)
	}
	if err := Precheck(spec); err == nil || !strings.Contains(err.Error(), "team/sidecar:2.0") {
		t.Fatalf("precheck: got %v", err)
	}
	spec.Charts = nil
	_, err = Build(context.Background(), spec, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "deploy.yaml") || !strings.Contains(err.Error(), "team/sidecar:2.0") {
		t.Fatalf("got %v, want an error naming deploy.yaml and the sidecar image", err)
	}
	if _, err := os.Stat(spec.Output); !os.IsNotExist(err) {
		t.Fatalf("a failed build left %s behind", spec.Output)
	}
}

func TestSplitBundle(t *testing.T) {
	f := newFixture(t)
	whole := build(t, f.spec("whole.tar"))
	spec := f.spec("split.tar")
	spec.PartSize = MinPartSize
	k := newKeyPair(t, "vendor")
	res := build(t, spec, k)
	if len(res.Files) < 3 {
		t.Fatalf("expected at least 2 payload parts, got files %v", res.Files)
	}
	b := openVerified(t, spec.Output, policyOf(k))
	if len(b.BOM.Parts) != len(res.Files)-1 {
		t.Fatalf("BOM lists %d parts for %d files", len(b.BOM.Parts), len(res.Files))
	}
	// Joined, the payload parts are the unsplit bundle's payload byte for byte.
	var joined []byte
	for _, p := range res.Files[1:] {
		data, err := os.ReadFile(p)
		must(t, err)
		joined = append(joined, data...)
	}
	single, err := os.ReadFile(whole.Files[0])
	must(t, err)
	wholeHead, _, err := ReadHead(whole.Files[0])
	must(t, err)
	if !bytes.Equal(joined, single[wholeHead.size:]) {
		t.Fatal("the joined parts differ from the single-file payload")
	}
	// Opening by part 0's name works too.
	b2, err := Open(res.Files[0], policyOf(k))
	must(t, err)
	b2.Close()
}

func TestResignStockpiledBundle(t *testing.T) {
	f := newFixture(t)
	vendor, customer := newKeyPair(t, "vendor"), newKeyPair(t, "customer")
	spec := f.spec("stock.tar")
	res := build(t, spec, vendor)
	before, _ := os.ReadFile(spec.Output)

	both := policyOf(vendor, customer)
	both.Required = []string{"vendor", "customer"}
	if _, err := Open(spec.Output, both); err == nil || !strings.Contains(err.Error(), "customer") {
		t.Fatalf("co-sign required but missing: %v", err)
	}
	head, err := AddSignatures(context.Background(), spec.Output, Resign{Keys: []SigningKey{customer.signing}})
	must(t, err)
	if len(head.Signatures) != 2 {
		t.Fatalf("signatures = %d", len(head.Signatures))
	}
	openVerified(t, spec.Output, both)

	after, _ := os.ReadFile(spec.Output)
	if len(after) != len(before) || !bytes.Equal(after[head.size:], before[head.size:]) || head.BOMDigest != res.BOMDigest {
		t.Fatal("re-signing must only change the signature slot")
	}
	// Replacing every signature with a new vendor key: the old key no longer opens it.
	newVendor := newKeyPair(t, "vendor")
	_, err = AddSignatures(context.Background(), spec.Output, Resign{Keys: []SigningKey{newVendor.signing}, ReplaceAll: true})
	must(t, err)
	if _, err := Open(spec.Output, policyOf(vendor)); err == nil {
		t.Fatal("the replaced key still verifies")
	}
	openVerified(t, spec.Output, policyOf(newVendor))
}
