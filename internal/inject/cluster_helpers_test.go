package inject

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/kube"
	"github.com/openairgap/terraform-provider-airgap/internal/sample"
	"github.com/openairgap/terraform-provider-airgap/test/cluster"
)

// clusterEnv is the test cluster, a client built the way the provider builds it, and the
// injector for the node (this machine: the cluster runs here).
type clusterEnv struct {
	c         *cluster.Cluster
	cs        kubernetes.Interface
	injectors map[string][]byte
}

// requireCluster skips (or fails, with AIRGAP_REQUIRE_CLUSTER=1) without a cluster. It holds the
// egress lock for the whole test, which also keeps other test processes off the NodePort, and
// fails the test if a packet tried to leave the machine meanwhile.
func requireCluster(t *testing.T) clusterEnv {
	t.Helper()
	c := cluster.Require(t)
	bin, err := os.ReadFile(hostInjector(t))
	if err != nil {
		t.Fatal(err)
	}
	c.GuardEgress(t)
	cs, _, err := kube.Clients(kube.Config{Kubeconfig: c.Kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	return clusterEnv{c: c, cs: cs, injectors: map[string][]byte{runtime.GOARCH: bin}}
}

func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// removeOnCleanup removes the injection when the test ends, whatever happened.
func removeOnCleanup(t *testing.T, cs kubernetes.Interface, namespace, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := Remove(ctx, cs, namespace, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// testNamespace creates a namespace and deletes it when the test ends, waiting until it is gone.
func testNamespace(t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
			return
		}
		if err := waitGone(ctx, "namespace "+ns.Name, func(ctx context.Context) error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return err
		}); err != nil {
			t.Error(err)
		}
	})
	return ns.Name
}

// samplePayload is the project's sample images (a two-platform index, and more).
func samplePayload(t *testing.T, layerSize int) []PayloadImage {
	t.Helper()
	set, err := sample.Set(layerSize)
	if err != nil {
		t.Fatal(err)
	}
	var images []PayloadImage
	for _, s := range set {
		images = append(images, PayloadImage{Repository: s.Repo, Tag: s.Tag, Index: s.Index, Image: s.Image})
	}
	return images
}

// toolboxPayload is the cluster's toolbox image, a program that runs: proof of a real pull.
func toolboxPayload(t *testing.T, c *cluster.Cluster) PayloadImage {
	t.Helper()
	img, err := tarball.ImageFromPath(c.ToolboxArchive(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return PayloadImage{Repository: "airgap-test/toolbox", Tag: "1.0", Image: img}
}

// waitPod polls pod ns/name until done says so, or fails the test after timeout.
func waitPod(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration, done func(*corev1.Pod) (bool, error)) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pod, err := cs.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err == nil {
			ok, derr := done(pod)
			if derr != nil {
				t.Fatalf("pod %s/%s: %v", ns, name, derr)
			}
			if ok {
				return pod
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s/%s: not done within %s (last error %v, status %+v)", ns, name, timeout, err, pod.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func running(pod *corev1.Pod) (bool, error) {
	for _, st := range pod.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "ErrImageNeverPull") {
			return false, fmt.Errorf("%s: %s", w.Reason, w.Message)
		}
	}
	return pod.Status.Phase == corev1.PodRunning, nil
}

// untilServing polls http://endpoint/v2/ from this machine, which is the node, and returns how
// long it took to answer 200.
func untilServing(t *testing.T, endpoint string) time.Duration {
	t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Since(start) < 30*time.Second {
		resp, err := client.Get("http://" + endpoint + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s does not serve /v2/ on this node", endpoint)
	return 0
}
