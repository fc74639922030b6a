package bundle

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// The fast tier runs against go-containerregistry's in-process registry; the real CNCF
// Distribution registry is exercised by the end-to-end tests.

var created = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	t       *testing.T
	host    string
	dir     string
	app     v1.ImageIndex // two platforms
	sidecar v1.Image      // single platform, shares its base layers with app's amd64 image
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	t.Cleanup(srv.Close)
	f := &fixture{t: t, host: strings.TrimPrefix(srv.URL, "http://"), dir: t.TempDir()}
	amd := f.randomImage(3, "amd64")
	arm := f.randomImage(3, "arm64")
	f.app = mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	extra, err := random.Layer(2048, "application/vnd.oci.image.layer.v1.tar+gzip")
	must(t, err)
	f.sidecar, err = mutate.AppendLayers(amd, extra)
	must(t, err)
	must(t, remote.WriteIndex(f.ref("team/app:1.0"), f.app))
	must(t, remote.Write(f.ref("team/sidecar:2.0"), f.sidecar))
	return f
}

func (f *fixture) randomImage(layers int, arch string) v1.Image {
	img, err := random.Image(400<<10, int64(layers))
	must(f.t, err)
	cfg, err := img.ConfigFile()
	must(f.t, err)
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cfg)
	must(f.t, err)
	return img
}

func (f *fixture) ref(s string) name.Reference {
	r, err := name.ParseReference(f.host + "/" + s)
	must(f.t, err)
	return r
}

func (f *fixture) write(name, content string) string {
	p := filepath.Join(f.dir, name)
	must(f.t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(f.t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// spec is a bundle of both images, a manifest using them, and a file.
func (f *fixture) spec(out string) Spec {
	manifest := f.write("deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      initContainers: [{name: init, image: `+f.host+`/team/sidecar:2.0}]
      containers: [{name: app, image: `+f.host+`/team/app:1.0}]
`)
	f.write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.3.0\nappVersion: \"2.0\"\n")
	f.write("chart/values.yaml", "registry: example.invalid\n")
	f.write("chart/templates/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: web, image: \"{{ .Values.registry }}/team/sidecar:2.0\"}]\n")
	return Spec{
		Name: "demo", Version: "1.0.0", Created: created,
		Charts:    []ChartSpec{{Path: filepath.Join(f.dir, "chart"), Values: "registry: " + f.host}},
		Images:    []ImageSpec{{Ref: f.host + "/team/app:1.0"}, {Ref: f.host + "/team/sidecar:2.0"}},
		Manifests: []string{manifest},
		Files:     []FileSpec{{Name: "readme.txt", Source: f.write("readme.txt", "hello enclave\n")}},
		Output:    filepath.Join(f.dir, out),
	}
}

type keyPair struct {
	signing SigningKey
	trusted signing.TrustedKey
}

func newKeyPair(t *testing.T, name string) keyPair {
	t.Helper()
	privPEM, pubPEM, err := signing.GenerateKeyPair([]byte("pw"))
	must(t, err)
	priv, err := signing.LoadPrivateKey(privPEM, []byte("pw"))
	must(t, err)
	pub, err := signing.ParsePublicKey(pubPEM)
	must(t, err)
	return keyPair{SigningKey{Signer: priv}, signing.TrustedKey{Name: name, Key: pub}}
}

func policyOf(keys ...keyPair) signing.Policy {
	p := signing.Policy{Now: func() time.Time { return created.Add(time.Hour) }}
	for _, k := range keys {
		p.Keys = append(p.Keys, k.trusted)
	}
	return p
}

func build(t *testing.T, spec Spec, keys ...keyPair) *Result {
	t.Helper()
	var sk []SigningKey
	for _, k := range keys {
		sk = append(sk, k.signing)
	}
	res, err := Build(context.Background(), spec, BuildOptions{Keys: sk})
	must(t, err)
	return res
}

func openVerified(t *testing.T, path string, p signing.Policy) *Bundle {
	t.Helper()
	b, err := Open(path, p)
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.VerifyPayload(context.Background()))
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
