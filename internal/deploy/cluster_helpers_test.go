package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/inject"
	"github.com/openairgap/terraform-provider-airgap/internal/kube"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
	"github.com/openairgap/terraform-provider-airgap/test/cluster"
	"github.com/openairgap/terraform-provider-airgap/test/system"
)

// clusterEnv is the test cluster with a client built the way the provider builds it, and the
// verified system bundle.
type clusterEnv struct {
	c   *cluster.Cluster
	cs  kubernetes.Interface
	b   *bundle.Bundle
	sys *System
}

// requireCluster skips (or fails, with AIRGAP_REQUIRE_CLUSTER=1) without a cluster. It holds the
// egress lock for the whole test, which also keeps other test processes off the fixed NodePorts
// 31998 and 31999, and fails the test if a packet tried to leave the machine meanwhile.
func requireCluster(t *testing.T) clusterEnv {
	t.Helper()
	c := cluster.Require(t)
	path, pub := system.Bundle(t)
	pem, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(path, signing.Policy{Keys: []signing.TrustedKey{{Name: "release", Key: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	sys, err := FromBundle(b, "")
	if err != nil {
		t.Fatal(err)
	}
	c.GuardEgress(t)
	cs, _, err := kube.Clients(kube.Config{Kubeconfig: c.Kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	return clusterEnv{c: c, cs: cs, b: b, sys: sys}
}

func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// pusher mirrors the system bundle into the registry at endpoint, as the provider does.
func (e clusterEnv) pusher(t *testing.T, endpoint, user, password string) func(context.Context) error {
	return func(ctx context.Context) error {
		target := registry.Target{Host: endpoint, PlainHTTP: true}
		if user != "" {
			target.Auth = &authn.Basic{Username: user, Password: password}
		}
		res, err := registry.Mirror(ctx, e.b, target)
		if err == nil {
			t.Logf("pushed the registry's image into itself: %d blobs, %d bytes, %d manifests in %s",
				res.BlobsUploaded, res.BytesSent, res.ManifestsPushed, res.Duration.Round(time.Millisecond))
		}
		return err
	}
}

// pulledEvents lists the kubelet's "Pulled" messages for the pods of registry name.
func pulledEvents(t *testing.T, cs kubernetes.Interface, namespace, name string) []string {
	t.Helper()
	evs, err := cs.CoreV1().Events(namespace).List(t.Context(), metav1.ListOptions{
		FieldSelector: fields.AndSelectors(fields.OneTermEqualSelector("reason", "Pulled"), fields.OneTermEqualSelector("involvedObject.kind", "Pod")).String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs.Items {
		if strings.HasPrefix(ev.InvolvedObject.Name, name+"-") {
			out = append(out, ev.Message)
		}
	}
	return out
}

// cleanUp removes the registry and the injection whatever happened, waiting until the
// namespace the injection created is gone.
func cleanUp(t *testing.T, cs kubernetes.Interface, namespace, registryName, injectionName string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := Remove(ctx, cs, namespace, registryName, false); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := inject.Remove(ctx, cs, namespace, injectionName); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_ = waitGone(ctx, "namespace "+namespace, func(ctx context.Context) (int, error) {
			_, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
			if err != nil {
				return 0, nil
			}
			return 1, nil
		})
	})
}

// logsOnFailure logs the end of every registry pod's log if the test failed (before cleanUp,
// registered earlier, removes them).
func logsOnFailure(t *testing.T, cs kubernetes.Interface, namespace, name string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(name)})
		if err != nil {
			t.Logf("listing registry pods: %v", err)
			return
		}
		tail := int64(20)
		for _, p := range pods.Items {
			b, err := cs.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
			t.Logf("log of %s (%v):\n%s", p.Name, err, b)
		}
	})
}
