package receipt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/kube"
	"github.com/openairgap/terraform-provider-airgap/test/cluster"
)

// clusterEnv is the test cluster and a client built the way the provider builds it.
type clusterEnv struct {
	c  *cluster.Cluster
	cs kubernetes.Interface
}

// requireCluster skips (or fails, with AIRGAP_REQUIRE_CLUSTER=1) without a cluster. It holds the
// egress lock for the whole test and fails the test if a packet tried to leave the machine
// meanwhile: keeping receipts must need nothing but the API server.
func requireCluster(t *testing.T) clusterEnv {
	t.Helper()
	c := cluster.Require(t)
	c.GuardEgress(t)
	cs, _, err := kube.Clients(kube.Config{Kubeconfig: c.Kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	return clusterEnv{c: c, cs: cs}
}

func randomName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// testNamespace creates a namespace that is deleted when the test ends.
func testNamespace(t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deleteNamespaceOnCleanup(t, cs, ns.Name)
	return ns.Name
}

// deleteNamespaceOnCleanup deletes the namespace, if it exists, when the test ends, and waits
// until it is gone.
func deleteNamespaceOnCleanup(t *testing.T, cs kubernetes.Interface, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if err != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
			return
		}
		for {
			_, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return
			}
			select {
			case <-ctx.Done():
				t.Errorf("namespace %s is not gone: %v (last: %v)", name, ctx.Err(), err)
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
}

// interposer runs before once, just before the first request that creates a ConfigMap is sent:
// a way to have another apply act at exactly that moment against the real API server.
type interposer struct {
	next   http.RoundTripper
	once   sync.Once
	before func()
}

func (i *interposer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/configmaps") {
		i.once.Do(i.before)
	}
	return i.next.RoundTrip(req)
}

// conflictCounter counts the API server's 409 answers to ConfigMap creates.
type conflictCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (c *conflictCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/configmaps") && resp.StatusCode == http.StatusConflict {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return resp, err
}
