package inject

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// These tests run the preflight checks against fake clusters; the real one is in cluster_test.go.

func node(name, arch string, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			NodeInfo:   corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: arch},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Images: []corev1.ContainerImage{
				{Names: []string{"registry.k8s.io/pause@sha256:1111", "registry.k8s.io/pause:3.10"}, SizeBytes: 300_000},
				{Names: []string{"sha256:2222"}, SizeBytes: 10}, // an ID only: not a name to use
				{Names: []string{"docker.io/library/busybox@sha256:3333"}, SizeBytes: 2_000_000},
				{Names: []string{"docker.io/library/nginx:1.27", "docker.io/library/nginx@sha256:4444"}, SizeBytes: 70_000_000},
			},
		},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func runningPod(ns, name, nodeName, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "c", Image: image, ImageID: image + "@sha256:5555",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}},
	}
}

func TestChoosePlacement(t *testing.T) {
	notReady := func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }
	cordoned := func(n *corev1.Node) { n.Spec.Unschedulable = true }
	windows := func(n *corev1.Node) { n.Status.NodeInfo.OperatingSystem = "windows" }
	bare := func(n *corev1.Node) { n.Status.Images = nil }
	tests := []struct {
		name       string
		objects    []runtime.Object
		req        Request
		wantNode   string
		wantImage  string
		wantSource string
		wantErr    []string
	}{
		{
			name:       "smallest node image, by tag",
			objects:    []runtime.Object{node("a", "amd64")},
			wantNode:   "a",
			wantImage:  "registry.k8s.io/pause:3.10",
			wantSource: "image list",
		},
		{
			name:       "a running pod's image first, even if larger",
			objects:    []runtime.Object{node("a", "amd64"), runningPod("kube-system", "proxy", "a", "docker.io/library/nginx:1.27")},
			wantNode:   "a",
			wantImage:  "docker.io/library/nginx:1.27",
			wantSource: "running pod kube-system/proxy",
		},
		{
			name:      "pods on other nodes do not count",
			objects:   []runtime.Object{node("a", "amd64"), runningPod("x", "p", "b", "docker.io/library/nginx:1.27")},
			wantNode:  "a",
			wantImage: "registry.k8s.io/pause:3.10",
		},
		{
			name:      "first usable node by name",
			objects:   []runtime.Object{node("c", "amd64"), node("b", "arm64", notReady), node("a", "amd64", cordoned)},
			wantNode:  "c",
			wantImage: "registry.k8s.io/pause:3.10",
		},
		{
			name:      "a cordoned node when asked for",
			objects:   []runtime.Object{node("a", "amd64", cordoned)},
			req:       Request{Node: "a"},
			wantNode:  "a",
			wantImage: "registry.k8s.io/pause:3.10",
		},
		{
			name:      "arm64",
			objects:   []runtime.Object{node("a", "arm64")},
			req:       Request{Architectures: []string{"arm64"}},
			wantNode:  "a",
			wantImage: "registry.k8s.io/pause:3.10",
		},
		{
			name:    "no node of the architecture",
			objects: []runtime.Object{node("a", "amd64"), node("b", "arm64")},
			req:     Request{Architectures: []string{"s390x"}},
			wantErr: []string{"node a has architecture amd64, not s390x", "node b has architecture arm64, not s390x", "of architecture s390x"},
		},
		{
			name:    "every reason at once",
			objects: []runtime.Object{node("a", "amd64", notReady), node("b", "amd64", windows), node("c", "amd64", bare), node("d", "amd64", cordoned)},
			wantErr: []string{"node a is not Ready", `node b runs "windows"`, "node c (amd64) reports no image and runs no pod", "node d is cordoned", "the pause image is enough"},
		},
		{
			name:    "unknown node",
			objects: []runtime.Object{node("a", "amd64")},
			req:     Request{Node: "z"},
			wantErr: []string{`node "z" does not exist (nodes: a)`},
		},
		{
			name:    "no nodes",
			wantErr: []string{"no nodes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(tt.objects...)
			req, err := tt.req.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			var p Placement
			err = choosePlacement(context.Background(), cs, req, &p)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("placed on %s with %s, want an error", p.Node, p.Image)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Node != tt.wantNode || p.Image != tt.wantImage || !strings.Contains(p.ImageSource, tt.wantSource) {
				t.Errorf("got %s, %s from %q; want %s, %s from %q", p.Node, p.Image, p.ImageSource, tt.wantNode, tt.wantImage, tt.wantSource)
			}
			for _, c := range p.Candidates {
				if strings.HasPrefix(c.Image, "sha256:") {
					t.Errorf("candidate %s is an ID, not a name", c.Image)
				}
			}
		})
	}
}

func TestImageOrder(t *testing.T) {
	cs := fake.NewClientset()
	cands, _, err := imagesOn(context.Background(), cs, node("a", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		got = append(got, c.Image)
	}
	want := "registry.k8s.io/pause:3.10 docker.io/library/busybox@sha256:3333 docker.io/library/nginx:1.27"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}

	// An identity that may not list pods everywhere still finds the node's images.
	cs = fake.NewClientset(runningPod("kube-system", "proxy", "a", "docker.io/library/nginx:1.27"))
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC"))
	})
	cands, note, err := imagesOn(context.Background(), cs, node("a", "amd64"))
	if err != nil || len(cands) != 3 || cands[0].Image != "registry.k8s.io/pause:3.10" || !strings.Contains(note, "may not list pods") {
		t.Errorf("forbidden to list pods: %v, %q, %v", cands, note, err)
	}
}

func kubeProxyConfigMap(conf string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy"}, Data: map[string]string{"config.conf": conf}}
}

func kubeProxyPod(args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy-x1", Labels: map[string]string{"k8s-app": "kube-proxy"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-proxy", Command: []string{"/usr/local/bin/kube-proxy"}, Args: args}}},
	}
}

func TestCheckKubeProxy(t *testing.T) {
	tests := []struct {
		name     string
		objects  []runtime.Object
		wantErr  string
		wantNote string
	}{
		{"kubeadm iptables", []runtime.Object{kubeProxyConfigMap("mode: iptables\niptables:\n  localhostNodePorts: true\n")}, "", ""},
		{"kubeadm default mode", []runtime.Object{kubeProxyConfigMap("kind: KubeProxyConfiguration\nmode: \"\"\n")}, "", ""},
		{"kubeadm nftables", []runtime.Object{kubeProxyConfigMap("mode: nftables\n")}, "nftables mode", ""},
		{"kubeadm ipvs", []runtime.Object{kubeProxyConfigMap("mode: ipvs\n")}, "ipvs mode", ""},
		{"localhost NodePorts off", []runtime.Object{kubeProxyConfigMap("mode: iptables\niptables:\n  localhostNodePorts: false\n")}, "localhostNodePorts: false", ""},
		{"pod flags", []runtime.Object{kubeProxyPod("--proxy-mode=nftables")}, "flags of pod kube-system/kube-proxy-x1", ""},
		{"pod flags, separate value", []runtime.Object{kubeProxyPod("--proxy-mode", "ipvs")}, "ipvs mode", ""},
		{"pod flags, localhost off", []runtime.Object{kubeProxyPod("--iptables-localhost-nodeports=false")}, "localhostNodePorts: false", ""},
		{"pod flags, fine", []runtime.Object{kubeProxyPod("--proxy-mode=iptables")}, "", ""},
		{"unknown mode", []runtime.Object{kubeProxyConfigMap("mode: kernelspace\n")}, "", `mode "kernelspace"`},
		{"not visible", nil, "", "not visible through the API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := Request{}.withDefaults()
			var p Placement
			err := checkKubeProxy(context.Background(), fake.NewClientset(tt.objects...), req, &p)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), "127.0.0.1:31998"):
				t.Errorf("error does not say where the kubelet pulls from: %v", err)
			}
			notes := strings.Join(p.Notes, "\n")
			if (tt.wantNote == "") != (notes == "") || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes %q, want %q", notes, tt.wantNote)
			}
		})
	}
}

func kubernetesService(families ...corev1.IPFamily) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"},
		Spec:       corev1.ServiceSpec{IPFamilies: families},
	}
}

func TestCheckIPFamily(t *testing.T) {
	for _, tt := range []struct {
		name     string
		families []corev1.IPFamily
		wantErr  bool
	}{
		{"IPv4", []corev1.IPFamily{corev1.IPv4Protocol}, false},
		{"dual-stack, IPv6 first", []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}, false},
		{"IPv6 only", []corev1.IPFamily{corev1.IPv6Protocol}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Placement{NodePort: 31998}
			err := checkIPFamily(context.Background(), fake.NewClientset(kubernetesService(tt.families...)), &p)
			if tt.wantErr != (err != nil) {
				t.Fatalf("got %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), "IPv6 only") {
				t.Errorf("unclear error: %v", err)
			}
			if p.IPFamily != "IPv4" {
				t.Errorf("family %q", p.IPFamily)
			}
		})
	}
}

func TestCheckNodePortFree(t *testing.T) {
	taken := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 31998}}},
	}
	req, _ := Request{}.withDefaults()
	var p Placement
	err := checkNodePortFree(context.Background(), fake.NewClientset(taken), req, &p)
	if err == nil || !strings.Contains(err.Error(), "node port 31998 is taken by service apps/web") {
		t.Fatalf("got %v", err)
	}
	req.NodePort = 31997
	if err := checkNodePortFree(context.Background(), fake.NewClientset(taken), req, &p); err != nil {
		t.Fatal(err)
	}
	req.NodePort = 5000
	if err := checkNodePortFree(context.Background(), fake.NewClientset(taken), req, &p); err != nil || len(p.Notes) != 1 {
		t.Fatalf("port outside the default range: %v, notes %q", err, p.Notes)
	}
}

func TestRequestValidation(t *testing.T) {
	for _, tt := range []struct {
		req  Request
		want string
	}{
		{Request{Name: "9lives"}, `name "9lives"`},
		{Request{Name: strings.Repeat("a", 41)}, "at most 40"},
		{Request{Namespace: "Upper"}, `namespace "Upper"`},
		{Request{NodePort: 70000}, "node port 70000"},
		{Request{Concurrency: 100}, "concurrency 100"},
		{Request{ChunkSize: 1 << 20}, "chunk size"},
	} {
		if _, err := tt.req.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", tt.req, err, tt.want)
		}
	}
	req, err := Request{}.withDefaults()
	if err != nil || req.Name != DefaultName || req.Namespace != DefaultNamespace || req.NodePort != DefaultNodePort {
		t.Fatalf("defaults: %+v, %v", req, err)
	}
}

func TestInjectorArchitectures(t *testing.T) {
	bins := map[string][]byte{"amd64": {1}, "arm64": {2}}
	if got, err := injectorArchitectures(SupportedArchitectures, bins); err != nil || strings.Join(got, ",") != "amd64,arm64" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := injectorArchitectures([]string{"s390x"}, bins); err == nil || !strings.Contains(err.Error(), "none of the architectures asked for") {
		t.Fatalf("got %v", err)
	}
	if _, err := injectorArchitectures(SupportedArchitectures, map[string][]byte{"amd64": make([]byte, MaxChunkSize+1)}); err == nil {
		t.Fatal("an injector too large for a ConfigMap was accepted")
	}
}

func TestDescribeObjects(t *testing.T) {
	refs := []ObjectRef{{"Pod", "n", "x"}, {"ConfigMap", "n", "a"}, {"Service", "n", "x"}, {"ConfigMap", "n", "b"}}
	if got := describeObjects(refs); got != "pod/x, service/x and 2 ConfigMaps" {
		t.Errorf("got %q", got)
	}
	if got := describeObjects(refs[:1]); got != "pod/x" {
		t.Errorf("got %q", got)
	}
}
