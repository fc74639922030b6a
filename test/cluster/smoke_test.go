package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/test/cluster"
)

// outside is an address reserved for documentation (RFC 5737): the one outside address a test may
// try, to prove that the deny rules reject it before it leaves the machine.
const outside = "203.0.113.1:443"

// TestSmoke creates a ConfigMap, a Secret, a PersistentVolumeClaim, a Service and a pod that uses
// them all through client-go, on a node that has nothing but its sandbox image, and checks that
// the egress counter did not move.
func TestSmoke(t *testing.T) {
	start := time.Now()
	c := cluster.Require(t)
	c.SerializeEgress(t)
	cs := c.Clientset()
	ctx := t.Context()
	egressBefore, hostBefore := c.EgressPackets(t), c.HostEgressPackets(t)
	t.Logf("cluster %s: node %s (%s), Kubernetes %s; images on the node: %v", c.Dir(), c.NodeName(), c.NodeAddress(),
		c.KubernetesVersion(), c.NodeImages(t))

	node, err := cs.CoreV1().Nodes().Get(ctx, c.NodeName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !nodeReady(node) {
		t.Fatalf("node %s is not Ready: %+v", node.Name, node.Status.Conditions)
	}
	if v := node.Status.NodeInfo.KubeletVersion; v != c.KubernetesVersion() {
		t.Errorf("kubelet version %s, want %s", v, c.KubernetesVersion())
	}

	// The claim's volume goes away with the claim (reclaim policy Delete), after the namespace is
	// deleted: this cleanup is registered first, so that it runs last.
	var pvName string
	t.Cleanup(func() {
		if pvName != "" {
			waitGone(t, "PV "+pvName, func(ctx context.Context) error {
				_, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
				return err
			})
		}
	})
	ns := namespace(t, cs, "smoke")

	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data:       map[string]string{"greeting": "hello from the enclave"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "credentials"},
		Data:       map[string][]byte{"token": []byte("not-a-real-token")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cs.CoreV1().Secrets(ns).Get(ctx, secret.Name, metav1.GetOptions{}); err != nil || string(got.Data["token"]) != "not-a-real-token" {
		t.Fatalf("secret read back: %v, %v", got, err)
	}

	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvName = waitFor(t, "PVC bound", time.Minute, func() (string, bool, error) {
		p, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, pvc.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		return p.Spec.VolumeName, p.Status.Phase == corev1.ClaimBound, nil
	})

	// The hostPath provisioner's /tmp/hostpath_pv points into the cluster directory.
	pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.HostPath == nil {
		t.Fatalf("PV %s is not a hostPath volume: %+v", pvName, pv.Spec.PersistentVolumeSource)
	}
	if real, err := filepath.EvalSymlinks(pv.Spec.HostPath.Path); err != nil || !strings.HasPrefix(real, c.Dir()+"/") {
		t.Errorf("PV %s's directory %s is not under the cluster directory: %s, %v", pvName, pv.Spec.HostPath.Path, real, err)
	}

	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "smoke"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !inCIDR(t, svc.Spec.ClusterIP, c.ServiceCIDR()) {
		t.Errorf("service ClusterIP %s is not in %s", svc.Spec.ClusterIP, c.ServiceCIDR())
	}

	// The sandbox image is the only image a fresh node has: run it as the pod's container too.
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Labels: map[string]string{"app": "smoke"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers: []corev1.Container{{
				Name: "main", Image: c.PauseImage(), ImagePullPolicy: corev1.PullNever,
				VolumeMounts: []corev1.VolumeMount{
					{Name: "data", MountPath: "/data"},
					{Name: "settings", MountPath: "/etc/settings"},
					{Name: "credentials", MountPath: "/etc/credentials"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}},
				{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
				{Name: "credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret.Name}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podIP := waitFor(t, "pod Running", 2*time.Minute, func() (string, bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return "", false, fmt.Errorf("pod ended: %+v", p.Status)
		}
		return p.Status.PodIP, p.Status.Phase == corev1.PodRunning, nil
	})
	if !inCIDR(t, podIP, c.PodCIDR()) {
		t.Errorf("pod IP %s is not in %s", podIP, c.PodCIDR())
	}
	// The Service selects the pod: its endpoints list the pod's address.
	waitFor(t, "service endpoints", time.Minute, func() (string, bool, error) {
		slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc.Name})
		if err != nil {
			return "", false, err
		}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				for _, a := range e.Addresses {
					if a == podIP {
						return a, true, nil
					}
				}
			}
		}
		return "", false, nil
	})

	egressAfter, hostAfter := c.EgressPackets(t), c.HostEgressPackets(t)
	if egressAfter != egressBefore {
		t.Errorf("egress counter moved during the smoke test: %d -> %d", egressBefore, egressAfter)
	}
	t.Logf("smoke test objects ready in %s; egress counter %d -> %d; host egress counter %d -> %d (not asserted: other work on the machine counts there)",
		time.Since(start).Round(time.Millisecond), egressBefore, egressAfter, hostBefore, hostAfter)
}

// TestEgress checks that pods reach the node and services, and that a pod's connection to an
// address outside the machine is rejected on the node and counted.
func TestEgress(t *testing.T) {
	c := cluster.Require(t)
	c.SerializeEgress(t)
	cs := c.Clientset()
	image := c.ToolboxImage(t)
	ns := namespace(t, cs, "egress")

	before := c.EgressPackets(t)
	node := net.JoinHostPort(c.NodeAddress(), "6443")
	if msg, code := dialFromPod(t, cs, ns, "to-node", image, node); code != 0 {
		t.Fatalf("a pod could not reach the node's API server at %s: %s", node, msg)
	}
	k8s, err := cs.CoreV1().Services("default").Get(t.Context(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	service := net.JoinHostPort(k8s.Spec.ClusterIP, "443")
	if msg, code := dialFromPod(t, cs, ns, "to-service", image, service); code != 0 {
		t.Fatalf("a pod could not reach the kubernetes Service at %s: %s", service, msg)
	}
	if after := c.EgressPackets(t); after != before {
		t.Fatalf("egress counter moved while pods talked to the node: %d -> %d", before, after)
	}

	// A service address kube-proxy has not translated (no Service has it) is refused on this
	// machine ("connection refused", like a Service without endpoints), counted apart.
	unused := unusedServiceIP(t, cs, c.ServiceCIDR())
	servicesBefore := c.ServicePackets(t)
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(unused, "80"), 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("connected to %s, which no Service has", unused)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("dialing the untranslated service address %s: %v (want connection refused)", unused, err)
	}
	if n := c.ServicePackets(t); n <= servicesBefore {
		t.Errorf("services counter did not rise (%d -> %d) when the host dialed %s", servicesBefore, n, unused)
	}
	if n := c.EgressPackets(t); n != before {
		t.Errorf("egress counter moved (%d -> %d) for an untranslated service address", before, n)
	}
	t.Logf("host dialing untranslated service address %s: %v", unused, err)

	msg, code := dialFromPod(t, cs, ns, "to-outside", image, outside)
	after := c.EgressPackets(t)
	t.Logf("pod dialing %s: %q (exit %d); egress counter %d -> %d", outside, msg, code, before, after)
	if code == 0 {
		t.Fatalf("a pod connected to %s: egress is not denied", outside)
	}
	if !strings.Contains(msg, "no route to host") {
		t.Errorf("the connection to %s was not rejected by the node (want \"no route to host\" from the REJECT rule): %s", outside, msg)
	}
	if after <= before {
		t.Errorf("egress counter did not rise (%d -> %d) when a pod dialed %s", before, after, outside)
	}
}

// TestEnclaveEgress checks that a host process in the enclave group cannot reach the outside and
// is counted (what the walkthrough relies on to prove terraform tried no outside connection).
func TestEnclaveEgress(t *testing.T) {
	c := cluster.Require(t)
	c.SerializeEgress(t)
	c.CheckEgressRules(t)
	before := c.EnclavePackets(t)
	cmd := exec.Command(c.ToolboxBinary(), "dial", outside, "5s")
	cmd.SysProcAttr = c.EnclaveSysProcAttr()
	out, err := cmd.CombinedOutput()
	after := c.EnclavePackets(t)
	t.Logf("enclave process dialing %s: %s; enclave counter %d -> %d", outside, strings.TrimSpace(string(out)), before, after)
	if err == nil {
		t.Fatalf("an enclave process connected to %s", outside)
	}
	if strings.Contains(string(out), "timeout") {
		t.Errorf("the connection timed out instead of being rejected on this machine: %s", out)
	}
	if after <= before {
		t.Errorf("enclave counter did not rise (%d -> %d)", before, after)
	}
}

// TestNodePortOnLoopback checks that a NodePort answers on 127.0.0.1 (kube-proxy's
// localhostNodePorts), the way the kubelet reaches the injector's registry.
func TestNodePortOnLoopback(t *testing.T) {
	c := cluster.Require(t)
	c.SerializeEgress(t)
	cs := c.Clientset()
	ctx := t.Context()
	image := c.ToolboxImage(t)
	ns := namespace(t, cs, "nodeport")
	before := c.EgressPackets(t)

	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "serve", Labels: map[string]string{"app": "serve"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers: []corev1.Container{{
				Name: "serve", Image: image, ImagePullPolicy: corev1.PullNever, Args: []string{"serve", ":8080"},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "serve"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "serve"},
			Ports:    []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(svc.Spec.Ports[0].NodePort))
	// Until the pod is ready and kube-proxy has synced, the connection is refused; then it answers.
	reply := waitFor(t, "NodePort "+addr+" answering", 2*time.Minute, func() (string, bool, error) {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return "", false, err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(conn)
		return string(b), err == nil && strings.HasPrefix(string(b), "toolbox "), err
	})
	t.Logf("%s answered %q", addr, strings.TrimSpace(reply))
	if after := c.EgressPackets(t); after != before {
		t.Errorf("egress counter moved: %d -> %d", before, after)
	}
}

// TestPullOverHTTP serves a registry from the host on 127.0.0.1 (a port containerd is configured to
// reach over plain HTTP), pushes the toolbox image to it and runs a pod that pulls it from there.
func TestPullOverHTTP(t *testing.T) {
	c := cluster.Require(t)
	c.SerializeEgress(t)
	cs := c.Clientset()
	ports := c.HTTPRegistryPorts()
	const port = 29999
	if !slices.Contains(ports, port) {
		t.Skipf("127.0.0.1:%d is not among the plain-HTTP registry ports %v (AIRGAP_CLUSTER_HTTP_REGISTRY_PORTS)", port, ports)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("serving a registry on 127.0.0.1:%d: %v", port, err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	img, err := tarball.ImageFromPath(c.ToolboxArchive(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("127.0.0.1:%d/airgap-test/toolbox:%d", port, time.Now().UnixNano())
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	c.RemoveImageOnCleanup(t, ref)
	ns := namespace(t, cs, "pull")
	before := c.EgressPackets(t)

	_, err = cs.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pulled"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers:                    []corev1.Container{{Name: "main", Image: ref, ImagePullPolicy: corev1.PullIfNotPresent}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod pulled from 127.0.0.1 and Running", 2*time.Minute, func() (string, bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(t.Context(), "pulled", metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return "", false, fmt.Errorf("%s: %s", w.Reason, w.Message)
			}
		}
		return "", p.Status.Phase == corev1.PodRunning, nil
	})
	if after := c.EgressPackets(t); after != before {
		t.Errorf("egress counter moved: %d -> %d", before, after)
	}
}

// dialFromPod runs `toolbox dial ADDR` in a pod and returns its message and exit code.
func dialFromPod(t *testing.T, cs kubernetes.Interface, ns, name, image, addr string) (string, int32) {
	t.Helper()
	ctx := t.Context()
	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr(int64(1)),
			Containers: []corev1.Container{{
				Name: "dial", Image: image, ImagePullPolicy: corev1.PullNever,
				Args: []string{"dial", addr, "10s"},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var state *corev1.ContainerStateTerminated
	waitFor(t, "pod "+name+" done", 2*time.Minute, func() (string, bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", false, err
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Terminated != nil {
				state = s.State.Terminated
				return "", true, nil
			}
		}
		return "", false, nil
	})
	return state.Message, state.ExitCode
}

// namespace creates a namespace for the test and deletes it (waiting until it is gone, with
// everything in it) when the test ends.
func namespace(t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "airgap-" + prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
			return
		}
		waitGone(t, "namespace "+ns.Name, func(ctx context.Context) error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return err
		})
	})
	return ns.Name
}

// waitGone polls get until it returns NotFound (for cleanups, after the test's context ended).
func waitGone(t *testing.T, what string, get func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("%s still there after 2 minutes", what)
	}
}

// waitFor polls cond until it reports done, and returns the value it reported.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (string, bool, error)) string {
	t.Helper()
	start := time.Now()
	var value string
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		v, done, err := cond()
		if err != nil {
			lastErr = err
			return false, nil
		}
		value = v
		return done, nil
	})
	if err != nil {
		t.Fatalf("%s: not after %s (last error: %v)", what, timeout, lastErr)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
	return value
}

// unusedServiceIP returns an address near the end of the service range that no Service uses.
func unusedServiceIP(t *testing.T, cs kubernetes.Interface, cidr string) string {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := cs.CoreV1().Services("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, s := range svcs.Items {
		used[s.Spec.ClusterIP] = true
	}
	ip := n.IP.To4()
	ones, bits := n.Mask.Size()
	last := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3]) | (1<<(bits-ones) - 1)
	for a := last - 1; a > last-100; a-- {
		s := net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).String()
		if !used[s] {
			return s
		}
	}
	t.Fatalf("no unused address at the end of %s", cidr)
	return ""
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func inCIDR(t *testing.T, ip, cidr string) bool {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatalf("CIDR %q: %v", cidr, err)
	}
	return n.Contains(net.ParseIP(ip))
}

func ptr[T any](v T) *T { return &v }
