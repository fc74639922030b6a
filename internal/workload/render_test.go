package workload

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	helmchart "helm.sh/helm/v3/pkg/chart"

	"github.com/openairgap/terraform-provider-airgap/internal/chart"
)

// testImages maps the test data's images to a registry on 127.0.0.1, with made-up digests.
var testImages = Mapper(map[string]string{
	"registry.example/airgap-test/alpha:1.0": "127.0.0.1:29999/airgap-test/alpha@sha256:" + strings.Repeat("a", 64),
	"registry.example/airgap-test/beta:1.0":  "127.0.0.1:29999/airgap-test/beta@sha256:" + strings.Repeat("b", 64),
	"registry.example/airgap-test/gamma:1.0": "127.0.0.1:29999/airgap-test/gamma@sha256:" + strings.Repeat("c", 64),
})

func readManifests(t *testing.T, names ...string) []File {
	t.Helper()
	var files []File
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "manifests", n))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: n, Data: data})
	}
	return files
}

func TestRender(t *testing.T) {
	r, err := Render(readManifests(t, "app.yaml", "crd.yaml", "extra.yaml"), testImages)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Objects) != 7 {
		t.Fatalf("%d objects, want 7", len(r.Objects))
	}
	want := []string{
		"Deployment.apps web web registry.example/airgap-test/alpha:1.0 -> 127.0.0.1:29999/airgap-test/alpha@sha256:" + strings.Repeat("a", 64),
		"Job.batch check dial registry.example/airgap-test/beta:1.0 -> 127.0.0.1:29999/airgap-test/beta@sha256:" + strings.Repeat("b", 64),
	}
	var got []string
	for _, c := range r.Images {
		got = append(got, c.Object.String()+" "+c.Container+" "+c.Before+" -> "+c.After)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("images:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The digest is the objects': neither the files' order nor their formatting moves it...
	again, err := Render(readManifests(t, "extra.yaml", "crd.yaml", "app.yaml"), testImages)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != r.Digest || !strings.HasPrefix(r.Digest, "sha256:") {
		t.Errorf("digest moved with the file order: %s, %s", r.Digest, again.Digest)
	}
	// ...but an image does.
	other := Mapper(map[string]string{
		"registry.example/airgap-test/alpha:1.0": "127.0.0.1:29999/airgap-test/alpha@sha256:" + strings.Repeat("d", 64),
		"registry.example/airgap-test/beta:1.0":  "127.0.0.1:29999/airgap-test/beta@sha256:" + strings.Repeat("b", 64),
	})
	moved, err := Render(readManifests(t, "app.yaml", "crd.yaml", "extra.yaml"), other)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Digest == r.Digest {
		t.Error("the digest did not change with an image")
	}
}

func TestRenderRefusesDuplicates(t *testing.T) {
	files := []File{
		{Name: "a.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")},
		{Name: "b.yaml", Data: []byte("---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")},
	}
	_, err := Render(files, testImages)
	if err == nil || !strings.Contains(err.Error(), "ConfigMap x (b.yaml, document 2) is also defined in a.yaml, document 1") {
		t.Fatalf("got %v", err)
	}
}

func loadChart(t *testing.T, dir string) []byte {
	t.Helper()
	l, err := chart.Load(filepath.Join("testdata", "charts", dir), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return l.Archive
}

func TestRenderChart(t *testing.T) {
	r, err := RenderChart(loadChart(t, "demo-1"), map[string]any{"greeting": "hi"}, "shop", "ns", testImages)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Images {
		got = append(got, c.Object.String()+" "+c.Source+" "+c.After)
	}
	want := []string{
		"Deployment.apps shop-alpha demo/templates/deployments.yaml 127.0.0.1:29999/airgap-test/alpha@sha256:" + strings.Repeat("a", 64),
		"Deployment.apps shop-beta demo/templates/deployments.yaml 127.0.0.1:29999/airgap-test/beta@sha256:" + strings.Repeat("b", 64),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("images:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The post-renderer, given the same manifest as Helm would give it, produces the same
	// objects: the plan's digest is the release's.
	c, err := chart.LoadArchive(loadChart(t, "demo-1"))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := chart.Render(c, "greeting: hi\n", "shop", "ns")
	if err != nil {
		t.Fatal(err)
	}
	pr := &PostRenderer{Images: testImages}
	out, err := pr.Run(bytes.NewBufferString(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Changes) != 2 || strings.Contains(out.String(), "registry.example") || !strings.Contains(out.String(), "# Source: demo/templates/deployments.yaml") {
		t.Errorf("post-rendered (%d changes):\n%s", len(pr.Changes), out)
	}
	objs, err := Parse(File{Name: "release", Data: out.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := ManifestDigest(objs); d != r.Digest {
		t.Errorf("release digest %s, plan digest %s", d, r.Digest)
	}
}

func TestPostRendererErrorNamesTemplate(t *testing.T) {
	stream := "---\n# Source: demo/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n" +
		"---\n# Source: demo/templates/web.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n" +
		"spec: {template: {spec: {containers: [{name: c, image: quay.io/x/y:1}]}}}\n"
	_, err := (&PostRenderer{Images: testImages}).Run(bytes.NewBufferString(stream))
	want := `Deployment.apps web (demo/templates/web.yaml, document 1): container "c": image "quay.io/x/y:1": the bundle does not carry this image`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestRenderChartRefusesHooksThatNeedRewriting(t *testing.T) {
	hook := func(image string) []byte {
		c := &helmchart.Chart{
			Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "hooked", Version: "0.1.0"},
			Templates: []*helmchart.File{{Name: "templates/migrate.yaml", Data: []byte(
				"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\n" +
					"spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: \"" + image + "\"}]}}}\n")}},
		}
		c.Raw = append(c.Raw, &helmchart.File{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: hooked\nversion: 0.1.0\n")}, c.Templates[0])
		archive, err := chart.Package(c, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return archive
	}
	_, err := RenderChart(hook("registry.example/airgap-test/alpha:1.0"), nil, "r", "ns", testImages)
	if err == nil || !strings.Contains(err.Error(), `hook Job.batch migrate (hooked/templates/migrate.yaml, document 1): container "m" runs "registry.example/airgap-test/alpha:1.0"`) ||
		!strings.Contains(err.Error(), "does not post-render hooks") {
		t.Errorf("got %v", err)
	}
	// A hook that already runs an in-cluster image is fine, and not part of the manifest.
	inCluster, _ := testImages("registry.example/airgap-test/alpha:1.0")
	r, err := RenderChart(hook(inCluster), nil, "r", "ns", testImages)
	if err != nil || len(r.Objects) != 0 {
		t.Errorf("got %v, %d objects", err, len(r.Objects))
	}
}
