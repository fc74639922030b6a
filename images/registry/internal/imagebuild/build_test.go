package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// Two builds of the same sources give the same index digest, and the index holds exactly
// linux/amd64 and linux/arm64 images that a runtime can run as built.
func TestBuildWritesReproducibleTwoPlatformIndex(t *testing.T) {
	dir := t.TempDir()
	var results []*Result
	for i := range 2 {
		res, err := Build(context.Background(), Options{
			Source: "../..", Version: "1.2.3-test", Out: filepath.Join(dir, fmt.Sprint("layout", i)), Log: t.Output(),
		})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	if results[0].Index != results[1].Index {
		t.Fatalf("two builds gave index digests %s and %s", results[0].Index, results[1].Index)
	}
	out := filepath.Join(dir, "layout0")
	checkRefName(t, out, "openairgap/registry:1.2.3-test")

	idx, err := Index(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil { // reads every blob and checks every digest
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s", im.MediaType)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
		if d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != "" {
			t.Errorf("%s: media type %s, artifact type %q", d.Platform, d.MediaType, d.ArtifactType)
		}
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("platforms %v, want exactly linux/amd64 and linux/arm64", platforms)
	}
	for i, p := range platforms {
		checkImage(t, out, p, results[0].Images[i])
	}
}

func checkRefName(t *testing.T, dir, want string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	if got := top.Manifests[0].Annotations[RefNameAnnotation]; got != want {
		t.Errorf("%s = %q, want %q", RefNameAnnotation, got, want)
	}
}

var elfMachine = map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}

func checkImage(t *testing.T, dir, platform string, info Image) {
	t.Helper()
	img, err := PlatformImage(dir, platform)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("%s: not a one-layer OCI image: %+v", platform, m)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.Platform().String() != platform || c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/registry"}) ||
		len(c.ExposedPorts) != 1 || !cf.Created.Equal(epoch) {
		t.Errorf("%s: config %+v", platform, cf)
	}
	checkLayer(t, img, platform)

	bin, err := Binary(dir, platform)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(bin)) != info.BinarySize {
		t.Errorf("%s: binary of %d bytes, build reported %d", platform, len(bin), info.BinarySize)
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elfMachine[platform] {
		t.Errorf("%s: binary for %s", platform, f.Machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s: binary is dynamically linked", platform)
		}
	}
	t.Logf("%s: %s, binary %d bytes, image %d bytes", platform, info.Digest, info.BinarySize, info.Size)
}

// checkLayer reads the layer's tar headers: the binary is executable, the data directory belongs
// to the image's user, and every time is the epoch.
func checkLayer(t *testing.T, img v1.Image, platform string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: %s has time %s", platform, h.Name, h.ModTime)
		}
		seen[h.Name] = h
	}
	if h := seen["registry"]; h == nil || h.Mode != 0o755 || h.Uid != 0 {
		t.Errorf("%s: /registry: %+v", platform, h)
	}
	if h := seen["var/lib/registry/"]; h == nil || h.Uid != UID || h.Gid != UID {
		t.Errorf("%s: /var/lib/registry: %+v", platform, h)
	}
}

func TestBuildRefusesBadVersionBeforeCompiling(t *testing.T) {
	_, err := Build(context.Background(), Options{Source: "../..", Version: "1.0 beta", Out: t.TempDir()})
	if err == nil {
		t.Fatal("a version with a space was accepted")
	}
}
