package bundle

import (
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The bundle's images, read back through go-containerregistry straight from the bundle, are the
// images that went in: same digests, every layer's bytes checked; a flipped bit in a layer makes
// the read fail rather than hand over bytes the BOM does not vouch for.
func TestBundleImagesReadBack(t *testing.T) {
	f := newFixture(t)
	vendor := newKeyPair(t, "vendor")
	spec := f.spec("oci.tar")
	build(t, spec, vendor)
	b := openVerified(t, spec.Output, policyOf(vendor))

	_, idx, err := b.Image(b.BOM.Images[0])
	must(t, err)
	if idx == nil {
		t.Fatal("the app is an index")
	}
	want, _ := f.app.Digest()
	if got, _ := idx.Digest(); got != want {
		t.Fatalf("index digest %s, pushed %s", got, want)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("the index read back does not validate: %v", err)
	}
	img, _, err := b.Image(b.BOM.Images[1])
	must(t, err)
	if err := validate.Image(img); err != nil {
		t.Fatalf("the image read back does not validate: %v", err)
	}
	if got, _ := img.Digest(); got.String() != b.BOM.Images[1].Digest {
		t.Fatalf("image digest %s, BOM says %s", got, b.BOM.Images[1].Digest)
	}

	// One flipped bit in a layer: reading that layer fails at its end.
	layer := b.BOM.Images[1].Platforms[0].Layers[0]
	flipIn(t, spec.Output, BlobPath(layer))
	damaged, err := Open(spec.Output, policyOf(vendor))
	must(t, err)
	defer damaged.Close()
	img, _, err = damaged.Image(damaged.BOM.Images[1])
	must(t, err)
	h, _ := v1.NewHash(layer)
	l, err := img.LayerByDigest(h)
	must(t, err)
	rc, err := l.Compressed()
	must(t, err)
	if _, err := io.Copy(io.Discard, rc); err == nil {
		t.Fatal("a damaged layer was read without an error")
	}
}
