package workload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

func TestApplyChartChecksBeforeTouchingTheCluster(t *testing.T) {
	// A client with no cluster behind it: every case must fail before it needs one.
	c := fakeClient(t)
	archive := loadChart(t, "demo-1")
	wait := ReleaseOptions{Wait: WaitOptions{Timeout: time.Minute}}
	lacking := Mapper(map[string]string{"registry.example/airgap-test/alpha:1.0": "127.0.0.1:29999/airgap-test/alpha@sha256:" + strings.Repeat("a", 64)})
	tests := []struct {
		name string
		ch   Chart
		opts ReleaseOptions
		want string
	}{
		{"bad release name", Chart{Release: "Shop!", Namespace: "ns", Archive: archive, Images: testImages}, wait, `release name "Shop!"`},
		{"no namespace", Chart{Release: "shop", Archive: archive, Images: testImages}, wait, "release shop: a namespace is required"},
		{"no mapper", Chart{Release: "shop", Namespace: "ns", Archive: archive}, wait, "an image mapper is required"},
		{"no timeout", Chart{Release: "shop", Namespace: "ns", Archive: archive, Images: testImages}, ReleaseOptions{}, "a readiness timeout is required"},
		{"not a chart", Chart{Release: "shop", Namespace: "ns", Archive: []byte("nope"), Images: testImages}, wait, "loading chart archive"},
		{"an image the bundle lacks", Chart{Release: "shop", Namespace: "ns", Archive: archive, Images: lacking}, wait,
			`Deployment.apps shop-beta (demo/templates/deployments.yaml, document 2): container "beta": image "registry.example/airgap-test/beta:1.0": the bundle does not carry this image`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ApplyChart(context.Background(), tt.ch, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestHaltingDriver(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	mem := driver.NewMemory()
	d := &haltingDriver{Driver: mem, ctx: ctx}
	rel := &release.Release{Name: "shop", Namespace: "default", Version: 1, Info: &release.Info{Status: release.StatusPendingInstall}, Chart: &helmchart.Chart{Metadata: &helmchart.Metadata{Name: "demo"}}}
	if err := d.Create("sh.helm.release.v1.shop.v1", rel); err != nil {
		t.Fatal(err)
	}
	cancel()
	failed := *rel
	failed.Info = &release.Info{Status: release.StatusFailed}
	if err := d.Update("sh.helm.release.v1.shop.v1", &failed); !errors.Is(err, errHalted) {
		t.Errorf("update after cancel: %v", err)
	}
	if _, err := d.Delete("sh.helm.release.v1.shop.v1"); !errors.Is(err, errHalted) {
		t.Errorf("delete after cancel: %v", err)
	}
	if err := d.Create("sh.helm.release.v1.shop.v2", rel); !errors.Is(err, errHalted) {
		t.Errorf("create after cancel: %v", err)
	}
	got, err := d.Get("sh.helm.release.v1.shop.v1") // reading goes on
	if err != nil || got.Info.Status != release.StatusPendingInstall {
		t.Errorf("the record after cancel: %+v, %v; want it still pending-install", got, err)
	}
}

func TestReleaseStatusFromManifest(t *testing.T) {
	manifest := "---\n# Source: demo/templates/a.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n" +
		"spec: {template: {spec: {containers: [{name: a, image: r/a@sha256:1}, {name: b, image: r/b@sha256:2}]}}}\n" +
		"---\n# Source: demo/templates/b.yaml\napiVersion: batch/v1\nkind: Job\nmetadata: {name: b}\n" +
		"spec: {template: {spec: {containers: [{name: a, image: r/a@sha256:1}]}}}\n"
	rel := &release.Release{
		Name: "shop", Namespace: "ns", Version: 7, Manifest: manifest,
		Info:  &release.Info{Status: release.StatusDeployed, Description: "Upgrade complete"},
		Chart: &helmchart.Chart{Metadata: &helmchart.Metadata{Name: "demo", Version: "2.0.0", AppVersion: "2.0"}},
	}
	st, err := releaseStatus(rel)
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := Parse(File{Name: "m", Data: []byte(manifest)})
	digest, _ := ManifestDigest(objs)
	if st.Revision != 7 || st.Status != "deployed" || st.Chart != "demo" || st.ChartVersion != "2.0.0" || st.AppVersion != "2.0" ||
		strings.Join(st.Images, " ") != "r/a@sha256:1 r/b@sha256:2" || st.ManifestDigest != digest {
		t.Errorf("status %+v", st)
	}
}
