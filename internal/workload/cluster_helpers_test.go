package workload

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/kube"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
	"github.com/openairgap/terraform-provider-airgap/test/cluster"
)

// registryPort is the host port containerd on the test node pulls from over plain HTTP. It is
// shared by every test process on the machine: only a holder of the egress lock may serve on it.
const registryPort = 29999

// clusterEnv is the test cluster, the engine's client built the way the provider builds it,
// and the images the test serves to the node.
type clusterEnv struct {
	c      *cluster.Cluster
	cs     kubernetes.Interface
	client *Client
	// images maps the test data's image references (as a BOM records them) to the in-cluster
	// references, through registry.Target.Reference as the provider does.
	images ImageMapper
	// refs are the in-cluster references, by component name (alpha, beta, gamma).
	refs map[string]string
}

// requireCluster skips (or fails, with AIRGAP_REQUIRE_CLUSTER=1) without a cluster. It holds the
// egress lock for the whole test, which also gives it the registry port, serves the toolbox
// image there under three repositories, and fails the test if a packet tried to leave the
// machine meanwhile.
func requireCluster(t *testing.T) *clusterEnv {
	t.Helper()
	c := cluster.Require(t)
	if !slices.Contains(c.HTTPRegistryPorts(), registryPort) {
		t.Skipf("127.0.0.1:%d is not among the node's plain-HTTP registry ports %v", registryPort, c.HTTPRegistryPorts())
	}
	c.GuardEgress(t)
	cs, rc, err := kube.Clients(kube.Config{Kubeconfig: c.Kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewClient(rc)
	if err != nil {
		t.Fatal(err)
	}
	client.poll = 250 * time.Millisecond
	env := &clusterEnv{c: c, cs: cs, client: client, refs: map[string]string{}}
	env.serveToolbox(t, "alpha", "beta", "gamma")
	return env
}

// serveToolbox serves a registry on 127.0.0.1:registryPort until the test ends, pushes the
// toolbox image to it as airgap-test/NAME:1.0 for each name, and maps
// registry.example/airgap-test/NAME:1.0 to it, pinned by digest.
func (e *clusterEnv) serveToolbox(t *testing.T, names ...string) {
	t.Helper()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", registryPort))
	if err != nil {
		t.Fatalf("serving a registry on 127.0.0.1:%d: %v", registryPort, err)
	}
	srv := &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	img, err := tarball.ImageFromPath(e.c.ToolboxArchive(), nil)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	target := registry.Target{Host: fmt.Sprintf("127.0.0.1:%d", registryPort)}
	bom := map[string]string{}
	for _, n := range names {
		push, err := name.ParseReference(fmt.Sprintf("127.0.0.1:%d/airgap-test/%s:1.0", registryPort, n), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(push, img); err != nil {
			t.Fatalf("pushing %s: %v", push, err)
		}
		source := "registry.example/airgap-test/" + n + ":1.0"
		ref, err := target.Reference(bundle.Image{Ref: source, Name: "registry.example/airgap-test/" + n, Tag: "1.0", Digest: digest.String()})
		if err != nil {
			t.Fatal(err)
		}
		bom[source] = ref
		e.refs[n] = ref
		// The node keeps what it pulled: remove it when the test ends (after the namespaces,
		// whose cleanups are registered later and so run first).
		e.c.RemoveImageOnCleanup(t, ref)
	}
	e.images = Mapper(bom)
}

// namespace creates a namespace and deletes it when the test ends, waiting until it is gone.
func (e *clusterEnv) namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := e.cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "airgap-" + prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := e.cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
			return
		}
		for {
			_, err := e.cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return
			}
			select {
			case <-ctx.Done():
				t.Errorf("namespace %s still there after 2 minutes", ns.Name)
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	return ns.Name
}

// runningImages lists, for each running pod of the namespace selected by labels, its
// containers' images as the spec names them, and checks that the node ran exactly that digest.
func (e *clusterEnv) runningImages(t *testing.T, ns, labels string) map[string]string {
	t.Helper()
	pods, err := e.cs.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: labels})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		for i, c := range p.Spec.Containers {
			st := p.Status.ContainerStatuses[i]
			if _, digest, _ := strings.Cut(c.Image, "@"); digest == "" || !strings.HasSuffix(st.ImageID, digest) {
				t.Errorf("pod %s container %s: spec image %s, ran %s", p.Name, c.Name, c.Image, st.ImageID)
			}
			out[c.Name] = c.Image
		}
	}
	return out
}
