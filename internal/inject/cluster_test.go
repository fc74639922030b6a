package inject

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// End-to-end tests against the project's test cluster (make cluster-up): a real node holding
// only its pause image, egress denied. They skip without a cluster unless AIRGAP_REQUIRE_CLUSTER=1.

func TestClusterPreflight(t *testing.T) {
	e := requireCluster(t)
	ctx := t.Context()
	node, err := e.cs.CoreV1().Nodes().Get(ctx, e.c.NodeName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	p, err := Preflight(ctx, e.cs, Request{Name: uniqueName("preflight")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("placement: node %s (%s), image %s (%d bytes, %s), NodePort %d, %s", p.Node, p.Architecture, p.Image, p.ImageSize, p.ImageSource, p.NodePort, p.IPFamily)
	t.Logf("candidates: %+v", p.Candidates)
	for _, n := range p.Notes {
		t.Logf("note: %s", n)
	}
	if p.Node != e.c.NodeName() || p.Architecture != node.Status.NodeInfo.Architecture || p.NodePort != DefaultNodePort || p.IPFamily != "IPv4" {
		t.Errorf("unexpected placement %+v", p)
	}
	wantImages := []string{e.c.PauseImage()}
	if pre := e.c.PreloadedImage(); pre != "" {
		wantImages = append(wantImages, pre)
	}
	for _, want := range wantImages {
		if !slices.ContainsFunc(p.Candidates, func(c ImageCandidate) bool { return c.Image == want }) {
			t.Errorf("candidates lack %s: %+v", want, p.Candidates)
		}
	}
	if !strings.Contains(p.Candidates[0].Source, "running pod") && p.Image != e.c.PauseImage() {
		t.Errorf("with no pod running, the smallest image is the pause image; got %s", p.Image)
	}

	t.Run("an image of a running pod comes first", func(t *testing.T) {
		ns := testNamespace(t, e.cs, "preflight")
		image := e.c.ToolboxImage(t)
		_, err := e.cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "toolbox"},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr(int64(1)),
				Containers:                    []corev1.Container{{Name: "main", Image: image, ImagePullPolicy: corev1.PullNever}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitPod(t, e.cs, ns, "toolbox", time.Minute, running)
		p, err := Preflight(ctx, e.cs, Request{Name: uniqueName("preflight")})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p.Image, strings.TrimPrefix(image, "docker.io/")) || p.ImageSource != "running pod "+ns+"/toolbox" {
			t.Errorf("got %s from %s, want %s from the running pod", p.Image, p.ImageSource, image)
		}
	})

	t.Run("an architecture no node has", func(t *testing.T) {
		_, err := Preflight(ctx, e.cs, Request{Architectures: []string{"s390x"}})
		want := "node " + e.c.NodeName() + " has architecture " + node.Status.NodeInfo.Architecture + ", not s390x"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing is pulled") {
			t.Fatalf("got %v, want an error containing %q", err, want)
		}
		t.Logf("message: %v", err)
	})

	t.Run("the NodePort is taken", func(t *testing.T) {
		ns := testNamespace(t, e.cs, "preflight")
		_, err := e.cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "squatter"},
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeNodePort,
				Selector: map[string]string{"app": "none"},
				Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80), NodePort: DefaultNodePort}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Preflight(ctx, e.cs, Request{})
		if err == nil || !strings.Contains(err.Error(), "node port 31998 is taken by service "+ns+"/squatter") {
			t.Fatalf("got %v", err)
		}
		t.Logf("message: %v", err)
	})
}

// TestClusterInject delivers the sample images and the toolbox into the bare node, in the default
// namespace, and has the kubelet pull the toolbox from 127.0.0.1:31998 and run it.
func TestClusterInject(t *testing.T) {
	e := requireCluster(t)
	ctx := t.Context()
	if _, err := e.cs.CoreV1().Namespaces().Get(ctx, DefaultNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s exists before the test (%v): left over by an earlier run?", DefaultNamespace, err)
	}
	toolbox := toolboxPayload(t, e.c)
	images := append(samplePayload(t, 64<<10), toolbox)
	removeOnCleanup(t, e.cs, DefaultNamespace, DefaultName)

	start := time.Now()
	seed, err := Inject(ctx, e.cs, Request{}, Payload{Images: images, Injectors: e.injectors})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	serving := untilServing(t, seed.Endpoint)
	t.Logf("seed %s on node %s, borrowing %s: payload %s, %d bytes in %d chunks; Inject took %s (upload %s, pod to ready endpoint %s), then %s until it answered on this node",
		seed.Endpoint, seed.Node, seed.Image, seed.PayloadDigest, seed.PayloadSize, seed.Chunks, took.Round(time.Millisecond),
		seed.UploadTook.Round(time.Millisecond), seed.ReadyTook.Round(time.Millisecond), serving.Round(time.Millisecond))
	if seed.Endpoint != "127.0.0.1:31998" || seed.Node != e.c.NodeName() || !seed.CreatedNamespace || seed.Image != e.c.PauseImage() && e.c.PreloadedImage() == "" {
		t.Errorf("unexpected seed %+v", seed)
	}
	if len(seed.Objects) != seed.Chunks+4 || seed.Objects[0] != (ObjectRef{Kind: "Namespace", Name: DefaultNamespace}) {
		t.Errorf("objects: %v", seed.Objects)
	}

	// This machine is the node: pull what the kubelet would, by tag, with go-containerregistry.
	for _, img := range images {
		ref, err := name.ParseReference(seed.Endpoint+"/"+img.Repository+":"+img.Tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(ref)
		if err != nil {
			t.Fatalf("pulling %s: %v", ref, err)
		}
		var want interface{ Digest() (v1.Hash, error) } = img.Image
		if img.Index != nil {
			want = img.Index
		}
		if d, _ := want.Digest(); desc.Digest != d {
			t.Errorf("%s: digest %s, want %s", ref, desc.Digest, d)
		}
	}

	// The kubelet pulls the toolbox by digest, with imagePullPolicy Always, and runs it.
	digest, err := toolbox.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := seed.Endpoint + "/" + toolbox.Repository + "@" + digest.String()
	e.c.ForgetImage(t, digest.String()) // under any name: the content must come from the injector
	e.c.RemoveImageOnCleanup(t, ref)
	ns := testNamespace(t, e.cs, "pull")
	_, err = e.cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pulled"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers:                    []corev1.Container{{Name: "main", Image: ref, ImagePullPolicy: corev1.PullAlways}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := waitPod(t, e.cs, ns, "pulled", 2*time.Minute, running)
	st := pod.Status.ContainerStatuses[0]
	t.Logf("pod %s/pulled Running: image %s, imageID %s", ns, st.Image, st.ImageID)
	// containerd reports the image by ID (there is no tag) and by the reference it pulled.
	if st.ImageID != ref {
		t.Errorf("container image %s, ID %s: not pulled from %s", st.Image, st.ImageID, ref)
	}
	log, err := e.cs.CoreV1().Pods(DefaultNamespace).GetLogs(DefaultName, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET /v2/airgap-test/toolbox/manifests/" + digest.String() + " 200"; !strings.Contains(string(log), want) {
		t.Errorf("the injector's log lacks %q:\n%s", want, log)
	}

	state, err := Status(ctx, e.cs, DefaultNamespace, DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Serving() || state.PayloadDigest != seed.PayloadDigest || state.NodePort != DefaultNodePort || state.Node != seed.Node || len(state.Objects) != seed.Chunks+3 {
		t.Errorf("status %+v", state)
	}
}

// TestClusterTamperedChunk replaces one chunk ConfigMap with a byte flipped, after the upload and
// before the pod: the injector must refuse to serve, Inject must say why, and leave nothing.
func TestClusterTamperedChunk(t *testing.T) {
	e := requireCluster(t)
	ctx := t.Context()
	images := samplePayload(t, 64<<10)
	want, _, err := WritePayload(io.Discard, images)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Name: uniqueName("tampered"), Namespace: uniqueName("airgap-tamper"), ChunkSize: 64 << 10}
	removeOnCleanup(t, e.cs, req.Namespace, req.Name)
	var updateErr error
	req.beforePod = func(ctx context.Context) error {
		cms := e.cs.CoreV1().ConfigMaps(req.Namespace)
		cm, err := cms.Get(ctx, req.chunkName(1), metav1.GetOptions{})
		if err != nil {
			return err
		}
		data := cm.BinaryData[ChunkName(1)]
		data[len(data)/2] ^= 0x01
		// kubectl edit would fail: the chunks are immutable. Replacing one still works.
		_, updateErr = cms.Update(ctx, cm, metav1.UpdateOptions{})
		if err := cms.Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		cm.ResourceVersion, cm.UID, cm.CreationTimestamp = "", "", metav1.Time{}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		return err
	}
	start := time.Now()
	_, err = Inject(ctx, e.cs, req, Payload{Images: images, Injectors: e.injectors})
	t.Logf("Inject failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if !apierrors.IsInvalid(updateErr) || !strings.Contains(updateErr.Error(), "immutable") {
		t.Errorf("editing an immutable chunk: got %v, want the API to refuse", updateErr)
	}
	var ie *InjectorError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an InjectorError", err)
	}
	for _, s := range []string{"payload sha256 mismatch: expected " + want + ", actual sha256:", "refusing to serve"} {
		if !strings.Contains(ie.Message, s) {
			t.Errorf("the injector's message lacks %q: %s", s, ie.Message)
		}
	}
	if ie.ExitCode != 1 || !strings.Contains(err.Error(), "edited or replaced") || !strings.Contains(err.Error(), "apply again") {
		t.Errorf("error does not say what happened and what to do: %v", err)
	}
	left, err := listObjects(ctx, e.cs, req.Namespace, req.Name)
	if err != nil || len(left) != 0 {
		t.Errorf("left behind: %v (%v)", left, err)
	}
	if _, err := e.cs.CoreV1().Namespaces().Get(ctx, req.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s, created by Inject, is still there (%v)", req.Namespace, err)
	}
}

// TestClusterRemove injects into a namespace that exists already (and enforces Pod Security
// "restricted"), checks Status and the
// leftover guard, then removes: every object goes, the namespace stays, a second Remove is fine.
func TestClusterRemove(t *testing.T) {
	e := requireCluster(t)
	ctx := t.Context()
	ns := testNamespace(t, e.cs, "airgap-remove")
	// Pod Security "restricted", the strictest profile, enforced: the injector pod passes it.
	patch := `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}`
	if _, err := e.cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	req := Request{Name: uniqueName("remove"), Namespace: ns}
	removeOnCleanup(t, e.cs, ns, req.Name)
	seed, err := Inject(ctx, e.cs, req, Payload{Images: samplePayload(t, 16<<10), Injectors: e.injectors})
	if err != nil {
		t.Fatal(err)
	}
	if seed.CreatedNamespace {
		t.Error("Inject claims to have created an existing namespace")
	}
	_, err = Preflight(ctx, e.cs, req)
	if err == nil || !strings.Contains(err.Error(), "already has pod/"+req.Name+", service/"+req.Name+" and ") {
		t.Errorf("a second injection of the same name: got %v", err)
	}

	// Read notices a chunk deleted behind its back.
	if err := e.cs.CoreV1().ConfigMaps(ns).Delete(ctx, req.chunkName(0), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	state, err := Status(ctx, e.cs, ns, req.Name)
	if err != nil {
		t.Fatal(err)
	}
	if state.Serving() || !slices.Equal(state.Missing, []string{"configmap/" + req.chunkName(0)}) || !state.Ready {
		t.Errorf("status after deleting a chunk: %+v", state)
	}

	start := time.Now()
	if err := Remove(ctx, e.cs, ns, req.Name); err != nil {
		t.Fatal(err)
	}
	t.Logf("Remove took %s", time.Since(start).Round(time.Millisecond))
	if state, err := Status(ctx, e.cs, ns, req.Name); err != nil || state.Exists() {
		t.Errorf("after Remove: %+v, %v", state, err)
	}
	if _, err := e.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Errorf("Remove deleted namespace %s, which it did not create: %v", ns, err)
	}
	if err := Remove(ctx, e.cs, ns, req.Name); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}
