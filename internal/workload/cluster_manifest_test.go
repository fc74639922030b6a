package workload

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const testFieldManager = "airgap-workload-test"

// TestClusterManifests applies a manifest set to the real cluster (pods pull their rewritten
// images from 127.0.0.1 and run), prunes an object dropped from the set, sees an image changed by
// hand and a deleted object as drift, puts them back, and deletes the set.
func TestClusterManifests(t *testing.T) {
	e := requireCluster(t)
	ns := e.namespace(t, "manifests")
	ctx := t.Context()
	set := func(files ...string) Set {
		r, err := Render(readManifests(t, files...), e.images)
		if err != nil {
			t.Fatal(err)
		}
		return Set{Name: "app", InventoryNamespace: ns, DefaultNamespace: ns, Manifest: r}
	}
	opts := ApplyOptions{FieldManager: testFieldManager, Wait: WaitOptions{Timeout: 2 * time.Minute}}
	// The set defines a cluster-wide kind: remove it whatever happens.
	t.Cleanup(func() { _, _ = e.client.Delete(t.Context(), ns, "app", 0) })

	start := time.Now()
	res, err := e.client.Apply(ctx, set("app.yaml", "crd.yaml", "extra.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first apply, 7 objects, ready (Deployment available, Job complete) in %s", time.Since(start).Round(time.Millisecond))
	if len(res.Applied) != 7 || res.Applied[0].Kind != "CustomResourceDefinition" {
		t.Errorf("applied %v, want 7 objects, the CustomResourceDefinition first", res.Applied)
	}
	if got := e.runningImages(t, ns, "app=web"); got["web"] != e.refs["alpha"] {
		t.Errorf("web runs %v, want %s", got, e.refs["alpha"])
	}
	widget, err := e.client.get(ctx, ObjectRef{Group: "test.openairgap.dev", Version: "v1", Kind: "Widget", Namespace: ns, Name: "first"})
	if err != nil {
		t.Fatalf("the custom resource: %v", err)
	}
	if widget.GetAnnotations()[AnnotationInventory] != ns+"/app" {
		t.Errorf("the custom resource's annotations: %v", widget.GetAnnotations())
	}
	live, err := e.client.Read(ctx, ns, "app")
	if err != nil || live.Inventory == nil || len(live.Inventory.Objects) != 7 || live.Drifted() {
		t.Fatalf("read after apply: %v, %+v", err, live)
	}
	if live.Inventory.Digest != res.Inventory.Digest {
		t.Errorf("inventory digest %s, applied %s", live.Inventory.Digest, res.Inventory.Digest)
	}

	// Drop extra.yaml: its ConfigMap is pruned.
	start = time.Now()
	res, err = e.client.Apply(ctx, set("app.yaml", "crd.yaml"), opts)
	t.Logf("second apply, one object pruned, in %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pruned) != 1 || res.Pruned[0].Name != "extra" || len(res.Applied) != 6 {
		t.Errorf("second apply: applied %v, pruned %v", res.Applied, res.Pruned)
	}
	if _, err := e.cs.CoreV1().ConfigMaps(ns).Get(ctx, "extra", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dropped ConfigMap is still there: %v", err)
	}

	// Someone changes the Deployment's image by hand and deletes the ConfigMap.
	patch := `[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "` + e.refs["gamma"] + `"}]`
	if _, err := e.cs.AppsV1().Deployments(ns).Patch(ctx, "web", types.JSONPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if err := e.cs.CoreV1().ConfigMaps(ns).Delete(ctx, "web-settings", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	live, err = e.client.Read(ctx, ns, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ConfigMap " + ns + "/web-settings is missing",
		"Deployment.apps " + ns + `/web: container "web" runs ` + e.refs["gamma"] + " instead of " + e.refs["alpha"],
	}
	if got := live.Differences(); !slices.Equal(got, want) {
		t.Errorf("drift:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Applying again puts them back: the forced apply takes the image back from kubectl-edit.
	start = time.Now()
	if _, err := e.client.Apply(ctx, set("app.yaml", "crd.yaml"), opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("third apply, the image and the ConfigMap put back, rolled out in %s", time.Since(start).Round(time.Millisecond))
	if live, err = e.client.Read(ctx, ns, "app"); err != nil || live.Drifted() {
		t.Errorf("drift after the apply: %v %q", err, live.Differences())
	}

	start = time.Now()
	del, err := e.client.Delete(ctx, ns, "app", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delete, objects gone, in %s", time.Since(start).Round(time.Millisecond))
	if len(del.Deleted) != 6 || del.Deleted[len(del.Deleted)-1].Kind != "CustomResourceDefinition" {
		t.Errorf("deleted %v, want 6 objects, the CustomResourceDefinition last", del.Deleted)
	}
	if _, err := e.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment survived the delete: %v", err)
	}
	if live, err = e.client.Read(ctx, ns, "app"); err != nil || live.Inventory != nil {
		t.Errorf("read after delete: %v %+v", err, live)
	}
}

// TestClusterManifestsNotReady shows the reasons a wait gives up early: an image the registry
// does not have, and a container that keeps exiting, with its own last words.
func TestClusterManifestsNotReady(t *testing.T) {
	e := requireCluster(t)
	ns := e.namespace(t, "notready")
	absent := strings.Replace(e.refs["alpha"], "/alpha@", "/absent@", 1)
	images := func(ref string) (string, error) {
		if ref == "registry.example/airgap-test/absent:1.0" {
			return absent, nil
		}
		return e.images(ref)
	}
	deployment := func(name, image, args string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: "` + image + `", args: ` + args + `}]
`
	}
	r, err := Render([]File{{Name: "broken.yaml", Data: []byte(
		deployment("unpullable", "registry.example/airgap-test/absent:1.0", "[sleep]") + "---\n" +
			deployment("crashing", "registry.example/airgap-test/beta:1.0", "[bogus]"))}}, images)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := e.client.Apply(ctx, Set{Name: "broken", InventoryNamespace: ns, DefaultNamespace: ns, Manifest: r}, ApplyOptions{FieldManager: testFieldManager}); err != nil {
		t.Fatal(err)
	}
	wait := WaitOptions{Timeout: 2 * time.Minute, CrashLoopRestarts: 1}
	for _, tt := range []struct{ name, reason, detail string }{
		{"unpullable", "ImagePullBackOff", `container "main": Back-off pulling image "` + absent + `"`},
		{"crashing", "CrashLoopBackOff", `container "main" exited with code 2 and was restarted`},
	} {
		start := time.Now()
		err := e.client.WaitReady(ctx, []ObjectRef{{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: ns, Name: tt.name}}, wait)
		t.Logf("%s: gave up after %s: %v", tt.name, time.Since(start).Round(time.Millisecond), err)
		var nr *NotReadyError
		if !errors.As(err, &nr) || nr.Reason != tt.reason || !strings.Contains(nr.Detail, tt.detail) || nr.Object.Name != tt.name {
			t.Errorf("%s: got %v, want %s with %q", tt.name, err, tt.reason, tt.detail)
		}
		if tt.name == "crashing" && !strings.Contains(err.Error(), "its last words: usage: toolbox") {
			t.Errorf("the crashing container's last words are missing: %v", err)
		}
	}
	if _, err := e.client.Delete(ctx, ns, "broken", time.Minute); err != nil {
		t.Error(err)
	}
}
