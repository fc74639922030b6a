package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openairgap/terraform-provider-airgap/internal/inject"
)

// TestClusterBootstrapVolume takes the bare node (its pause image only, egress denied) to a
// registry on a volume that runs its own image: inject, install, push, switch, retire. Then a
// second Apply changes nothing, and Remove and the injection's Remove leave nothing behind.
func TestClusterBootstrapVolume(t *testing.T) {
	e := requireCluster(t)
	ctx := t.Context()
	ns := uniqueName("airgap-boot")
	injName, regName := "seed", "registry"
	// The node must fetch the registry's image, under both names, for the events to prove where
	// from; and it is forgotten again afterwards (registered first: it runs after the pods are gone).
	e.c.ForgetImage(t, e.sys.Image.Digest)
	t.Cleanup(func() { e.c.ForgetImage(t, e.sys.Image.Digest) })
	cleanUp(t, e.cs, ns, regName, injName)
	logsOnFailure(t, e.cs, ns, regName)

	start := time.Now()
	seed, err := inject.Inject(ctx, e.cs, inject.Request{Name: injName, Namespace: ns}, e.sys.Payload)
	if err != nil {
		t.Fatal(err)
	}
	injected := time.Since(start)
	self, err := e.sys.SelfImage("127.0.0.1:31999")
	if err != nil {
		t.Fatal(err)
	}
	r := Registry{Name: regName, Namespace: ns, Username: "airgap", Password: "correct horse battery staple",
		Storage: Storage{Volume: &Volume{Size: "1Gi", FixPermissions: true}}}
	st, timing, err := Install(ctx, e.cs, r, Bootstrap{
		Seed: e.sys.SeedImage(seed.Endpoint), Self: self,
		Push:      e.pusher(t, "127.0.0.1:31999", r.Username, r.Password),
		Injection: &Injection{Namespace: ns, Name: injName, PayloadDigest: seed.PayloadDigest},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("empty cluster to a registry on its own image in %s: injection %s (%d chunks, %d bytes), registry on the seed %s, push %s, switch %s, retire %s",
		time.Since(start).Round(time.Millisecond), injected.Round(time.Millisecond), seed.Chunks, seed.PayloadSize,
		timing.Seeded.Round(time.Millisecond), timing.Pushed.Round(time.Millisecond), timing.Switched.Round(time.Millisecond), timing.Retired.Round(time.Millisecond))
	if !st.Serving() || st.Image != self || st.NodePort != DefaultNodePort || st.Storage != "volume" || st.RetiredInjection != ns+"/"+injName+"@"+seed.PayloadDigest {
		t.Errorf("state %+v", st)
	}
	// The kubelet pulled the registry twice: from the injector, then from the registry itself.
	pulled := pulledEvents(t, e.cs, ns, regName)
	t.Logf("kubelet: %q", pulled)
	for _, want := range []string{e.sys.SeedImage(seed.Endpoint), self} {
		if !slices.ContainsFunc(pulled, func(m string) bool { return strings.Contains(m, `pulled image "`+want+`"`) }) {
			t.Errorf("no event says the kubelet pulled %s: %q", want, pulled)
		}
	}
	if left, err := inject.Status(ctx, e.cs, ns, injName); err != nil || left.Exists() {
		t.Errorf("the injection is still there: %+v (%v)", left, err)
	}

	// Applying the same registry again changes nothing: no new generation, the same pod.
	d0, err := e.cs.AppsV1().Deployments(ns).Get(ctx, regName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Image = self
	if _, err := Apply(ctx, e.cs, r); err != nil {
		t.Fatal(err)
	}
	d1, err := e.cs.AppsV1().Deployments(ns).Get(ctx, regName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d1.Generation != d0.Generation || d1.Annotations[AnnotationRetiredInjection] != st.RetiredInjection {
		t.Errorf("a second apply changed the deployment: generation %d -> %d, annotations %v", d0.Generation, d1.Generation, d1.Annotations)
	}

	if err := Remove(ctx, e.cs, ns, regName, false); err != nil {
		t.Fatal(err)
	}
	if err := inject.Remove(ctx, e.cs, ns, injName); err != nil {
		t.Fatal(err)
	}
	if err := waitGone(ctx, "namespace "+ns, func(ctx context.Context) (int, error) {
		_, err := e.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 1, err
	}); err != nil {
		t.Error(err)
	}
}
