package workload

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterChart sees a failing first install uninstall itself, installs the demo chart as a
// Helm release whose pods pull their rewritten images from 127.0.0.1, upgrades it to version 2
// (one image removed, one added), goes back to version 1, sees a failing upgrade roll back by
// itself, and uninstalls it.
func TestClusterChart(t *testing.T) {
	e := requireCluster(t)
	ns := e.namespace(t, "chart")
	ctx := t.Context()
	opts := ReleaseOptions{Wait: WaitOptions{Timeout: 2 * time.Minute, CrashLoopRestarts: 1}}
	apply := func(step, dir string, values map[string]any) (*ReleaseResult, error) {
		start := time.Now()
		res, err := e.client.ApplyChart(ctx, Chart{Release: "shop", Namespace: ns, Archive: loadChart(t, dir), Values: values, Images: e.images}, opts)
		t.Logf("%s: %s", step, time.Since(start).Round(time.Millisecond))
		return res, err
	}
	t.Cleanup(func() { _ = e.client.Uninstall(context.Background(), ns, "shop", time.Minute) })

	// A first install whose beta exits at once: it fails, and is uninstalled by itself.
	bogus := func(component string) map[string]any {
		return map[string]any{"components": map[string]any{component: map[string]any{"args": []string{"bogus"}}}}
	}
	_, err := apply("failed install, uninstalled", "demo-1", bogus("beta"))
	t.Logf("the failed install's error: %v", err)
	for _, want := range []string{
		"installing release " + ns + "/shop (chart demo 1.0.0) failed, and it was uninstalled",
		"Deployment.apps " + ns + `/shop-beta failed: CrashLoopBackOff: pod shop-beta-`, "its last words: usage: toolbox",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the failed install's error lacks %q", want)
		}
	}
	if st, err := e.client.ReleaseStatus(ctx, ns, "shop"); err != nil || st != nil {
		t.Errorf("after the failed install: %+v, %v; want no release", st, err)
	}
	e.checkGone(t, ns, "shop-alpha")

	// Version 1: alpha and beta.
	res, err := apply("install 1.0.0", "demo-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.checkRelease(t, res, 1, "1.0.0", "alpha", "beta")
	plan, err := RenderChart(loadChart(t, "demo-1"), nil, "shop", ns, e.images)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Digest != res.ManifestDigest {
		t.Errorf("the release's manifest digest %s is not the plan's %s", res.ManifestDigest, plan.Digest)
	}
	if len(res.Changes) != 2 || res.Changes[0].Before != "registry.example/airgap-test/alpha:1.0" || res.Changes[0].After != e.refs["alpha"] {
		t.Errorf("image changes %+v", res.Changes)
	}

	// Version 2: beta goes, gamma comes.
	if res, err = apply("upgrade to 2.0.0", "demo-2", nil); err != nil {
		t.Fatal(err)
	}
	e.checkRelease(t, res, 2, "2.0.0", "alpha", "gamma")
	e.checkGone(t, ns, "shop-beta")

	// Back to version 1: an upgrade to the older chart.
	if res, err = apply("back to 1.0.0", "demo-1", nil); err != nil {
		t.Fatal(err)
	}
	e.checkRelease(t, res, 3, "1.0.0", "alpha", "beta")
	e.checkGone(t, ns, "shop-gamma")

	// Version 2 with gamma given a bad argument: it exits at once, the upgrade fails and rolls
	// back to revision 3 by itself, as revision 5.
	_, err = apply("failed upgrade, rolled back", "demo-2", bogus("gamma"))
	t.Logf("the failed upgrade's error: %v", err)
	for _, want := range []string{
		"upgrading release " + ns + "/shop to chart demo 2.0.0 (revision 4) failed, and it was rolled back to revision 3 (chart demo 1.0.0; now revision 5)",
		"Deployment.apps " + ns + "/shop-gamma failed: CrashLoopBackOff",
		`container "gamma" exited with code 2`, "its last words: usage: toolbox",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the failed upgrade's error lacks %q", want)
		}
	}
	st, err := e.client.ReleaseStatus(ctx, ns, "shop")
	if err != nil {
		t.Fatal(err)
	}
	e.checkRelease(t, &ReleaseResult{ReleaseStatus: *st}, 5, "1.0.0", "alpha", "beta")
	e.checkGone(t, ns, "shop-gamma")
	if got := e.history(t, ns, "shop"); !slices.Equal(got, []string{"superseded", "superseded", "superseded", "failed", "deployed"}) {
		t.Errorf("history %v, want revisions 1-3 superseded, 4 failed, 5 deployed: none pending", got)
	}

	start := time.Now()
	if err := e.client.Uninstall(ctx, ns, "shop", time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("uninstall: %s", time.Since(start).Round(time.Millisecond))
	if st, err := e.client.ReleaseStatus(ctx, ns, "shop"); err != nil || st != nil {
		t.Errorf("status after uninstall: %+v, %v", st, err)
	}
	e.checkGone(t, ns, "shop-alpha")
}

// TestClusterChartInterrupted cancels an install while it waits for its pods: the release is
// left pending-install, as if the process had been killed, and the next apply uninstalls it and
// installs afresh. The same for an upgrade, which the next apply rolls back first.
func TestClusterChartInterrupted(t *testing.T) {
	e := requireCluster(t)
	ns := e.namespace(t, "interrupted")
	opts := ReleaseOptions{Wait: WaitOptions{Timeout: 2 * time.Minute}}
	t.Cleanup(func() { _ = e.client.Uninstall(context.Background(), ns, "fresh", time.Minute) })
	// beta's readiness probe dials a port nothing listens on: it never becomes ready, and never
	// fails either; the test cancels the apply once Helm has recorded the release and created it.
	neverReady := map[string]any{"components": map[string]any{"beta": map[string]any{"readyPort": 9}}}
	interrupt := func(step string, values map[string]any, status release.Status) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			defer cancel()
			for ctx.Err() == nil {
				st, err := e.client.ReleaseStatus(ctx, ns, "fresh")
				if err == nil && st != nil && st.Status == status.String() {
					if _, err := e.cs.AppsV1().Deployments(ns).Get(ctx, "fresh-beta", metav1.GetOptions{}); err == nil {
						time.Sleep(time.Second) // well into the wait
						return
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		_, err := e.client.ApplyChart(ctx, Chart{Release: "fresh", Namespace: ns, Archive: loadChart(t, "demo-1"), Values: values, Images: e.images}, opts)
		t.Logf("%s: %v", step, err)
		if err == nil || !strings.Contains(err.Error(), "was interrupted (context canceled); the release is left "+status.String()) {
			t.Fatalf("%s: got %v, want an interruption that leaves the release %s", step, err, status)
		}
		if st, err := e.client.ReleaseStatus(t.Context(), ns, "fresh"); err != nil || st.Status != status.String() {
			t.Fatalf("%s: status %+v, %v; want %s", step, st, err, status)
		}
	}
	recoverIt := func(step, want string, revision int) {
		t.Helper()
		start := time.Now()
		res, err := e.client.ApplyChart(t.Context(), Chart{Release: "fresh", Namespace: ns, Archive: loadChart(t, "demo-1"), Images: e.images}, opts)
		t.Logf("%s: %s", step, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("recovered: %s", res.Recovered)
		if !strings.Contains(res.Recovered, want) {
			t.Errorf("recovered %q, want %q in it", res.Recovered, want)
		}
		if res.Status != "deployed" || res.Revision != revision {
			t.Errorf("after recovery: %+v", res.ReleaseStatus)
		}
	}

	interrupt("interrupted install", neverReady, release.StatusPendingInstall)
	recoverIt("recovered install", "was pending-install at revision 1 (chart demo 1.0.0), left so by an interrupted apply: it had no good revision, so it was uninstalled", 1)
	interrupt("interrupted upgrade", neverReady, release.StatusPendingUpgrade)
	// Revision 2 is pending; the rollback to 1 is revision 3; the upgrade after it revision 4.
	recoverIt("recovered upgrade", "was pending-upgrade at revision 2 (chart demo 1.0.0), left so by an interrupted apply: it was rolled back to revision 1 (now revision 3)", 4)
	if got := e.history(t, ns, "fresh"); !slices.Equal(got, []string{"superseded", "failed", "superseded", "deployed"}) {
		t.Errorf("history %v, want revision 2 (the interrupted one) failed, 4 deployed, the others superseded: none pending", got)
	}
}

// checkRelease checks a release's record against the cluster: its revision, chart version,
// status and images, and that its pods run exactly those images.
func (e *clusterEnv) checkRelease(t *testing.T, res *ReleaseResult, revision int, version string, components ...string) {
	t.Helper()
	var want []string
	for _, c := range components {
		want = append(want, e.refs[c])
	}
	slices.Sort(want)
	if res.Revision != revision || res.ChartVersion != version || res.Chart != "demo" || res.Status != "deployed" || !slices.Equal(res.Images, want) {
		t.Errorf("release %+v, want revision %d of demo %s deployed with %v", res.ReleaseStatus, revision, version, want)
	}
	running := e.runningImages(t, res.Namespace, "app.kubernetes.io/instance="+res.Name)
	for _, c := range components {
		if running[c] != e.refs[c] {
			t.Errorf("component %s runs %q, want %s", c, running[c], e.refs[c])
		}
	}
}

func (e *clusterEnv) checkGone(t *testing.T, ns, deployment string) {
	t.Helper()
	if _, err := e.cs.AppsV1().Deployments(ns).Get(t.Context(), deployment, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment %s/%s is still there (%v)", ns, deployment, err)
	}
}

// history lists the release's revisions' statuses, oldest first.
func (e *clusterEnv) history(t *testing.T, ns, name string) []string {
	t.Helper()
	cfg, err := e.client.helmConfig(t.Context(), ns, WaitOptions{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	revs, err := cfg.Releases.History(name)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(revs, func(a, b *release.Release) int { return a.Version - b.Version })
	var out []string
	for _, r := range revs {
		out = append(out, r.Info.Status.String())
	}
	return out
}
