package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openairgap/terraform-provider-airgap/internal/sample"
	"github.com/openairgap/terraform-provider-airgap/test/registry"
	"github.com/openairgap/terraform-provider-airgap/test/tools"
)

// Once extracted with plain tar, the bundle's images are an OCI image layout that other tools
// read: skopeo reads each image by its reference name (the bytes hash to the BOM digest) and
// copies it to the real Distribution registry; crane pushes the whole layout there, digests
// unchanged.
func TestExtractedLayoutIsReadByPeers(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv("AIRGAP_REQUIRE_TOOLS") == "1" {
			t.Fatal("skopeo is not installed (scripts/deps.sh installs it)")
		}
		t.Skip("skopeo is not installed (scripts/deps.sh installs it)")
	}
	crane := tools.Path(t, "crane")
	f := newFixture(t)
	images, err := sample.Set(32 << 10)
	must(t, err)
	refs, err := sample.Push(f.host, images)
	must(t, err)
	spec := Spec{Name: "peers", Version: "1", Created: created, Output: filepath.Join(f.dir, "peers.tar")}
	for _, r := range refs {
		spec.Images = append(spec.Images, ImageSpec{Ref: r})
	}
	res := build(t, spec)
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", spec.Output, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf: %v\n%s", err, out)
	}
	layout := filepath.Join(dir, LayoutDir)
	dest := registry.Start(t)

	for i, img := range res.BOM.Images {
		src := "oci:" + layout + ":" + ReferenceString(img)
		raw, err := exec.Command(skopeo, "inspect", "--raw", src).Output()
		if err != nil {
			t.Fatalf("skopeo inspect --raw %s: %v", src, err)
		}
		if got := digestOf(raw).String(); got != img.Digest {
			t.Fatalf("skopeo read %s as %s, the BOM says %s", img.Ref, got, img.Digest)
		}
		// skopeo 1.9 re-encodes lists when writing to a registry, so only the copy's success is
		// checked here; crane below shows the digests surviving a push.
		target := dest.Host + "/skopeo/img" + string(rune('a'+i)) + ":1"
		if out, err := exec.Command(skopeo, "copy", "--all", "--dest-tls-verify=false", src, "docker://"+target).CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v\n%s", img.Ref, err, out)
		}
	}
	out, err := exec.Command(crane, "push", "--index", layout, dest.Host+"/crane/all:1").CombinedOutput()
	if err != nil {
		t.Fatalf("crane push --index: %v\n%s", err, out)
	}
	idx, err := remote.Index(mustRef(t, dest.Host+"/crane/all:1"))
	must(t, err)
	im, err := idx.IndexManifest()
	must(t, err)
	for i, d := range im.Manifests {
		if d.Digest.String() != res.BOM.Images[i].Digest {
			t.Fatalf("crane pushed image %d as %s, the BOM says %s", i, d.Digest, res.BOM.Images[i].Digest)
		}
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	must(t, err)
	return r
}
