package inject

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
)

// The kubelet pulls the bootstrap images from 127.0.0.1:<NodePort>, so the path this file checks
// is: the kubelet on a node connects to its own loopback; kube-proxy (iptables mode, with
// localhostNodePorts, its default) forwards NodePorts there too (it sets route_localnet); the
// Service forwards to the injector pod on whichever node it runs. containerd's CRI pulls over plain
// HTTP from localhost without any configuration (its default scheme for "localhost", 127.0.0.1
// and ::1 is http), so the injector needs no certificate.

// checkIPFamily requires IPv4 services: kube-proxy serves NodePorts on 127.0.0.1 only for IPv4
// (route_localnet has no IPv6 counterpart), and the Service asks for IPv4 explicitly so that a
// dual-stack cluster whose first family is IPv6 works too.
func checkIPFamily(ctx context.Context, cs kubernetes.Interface, p *Placement) error {
	p.IPFamily = string(corev1.IPv4Protocol)
	svc, err := cs.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		p.Notes = append(p.Notes, fmt.Sprintf("could not read the default/kubernetes Service to learn the cluster's IP families (%v); assumed IPv4", err))
		return nil
	}
	families := svc.Spec.IPFamilies
	if len(families) == 0 { // clusters older than dual-stack: the ClusterIP tells
		if ip := net.ParseIP(svc.Spec.ClusterIP); ip != nil && ip.To4() == nil {
			families = []corev1.IPFamily{corev1.IPv6Protocol}
		}
	}
	if len(families) == 0 || slices.Contains(families, corev1.IPv4Protocol) {
		return nil
	}
	return fmt.Errorf("the cluster's services are IPv6 only: kube-proxy forwards NodePorts on 127.0.0.1 for IPv4 services only, "+
		"and the kubelet pulls the bootstrap images from 127.0.0.1:%d; make the cluster dual-stack (the injector's Service asks for IPv4)", p.NodePort)
}

// checkNodePortFree names the Service that already holds the port, when the caller may list them
// (the dry run in Preflight catches it otherwise, without the name).
func checkNodePortFree(ctx context.Context, cs kubernetes.Interface, req Request, p *Placement) error {
	if req.NodePort < 30000 || req.NodePort > 32767 {
		p.Notes = append(p.Notes, fmt.Sprintf("node port %d is outside the default NodePort range 30000-32767: the API server must run with a --service-node-port-range that holds it", req.NodePort))
	}
	svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		p.Notes = append(p.Notes, fmt.Sprintf("could not list services to find one holding node port %d (%v); relying on the dry run", req.NodePort, err))
		return nil
	}
	for _, svc := range svcs.Items {
		if svc.Namespace == req.Namespace && svc.Labels[LabelInjection] == req.Name {
			continue // our own leftover: checkLeftovers reports it
		}
		for _, port := range svc.Spec.Ports {
			if port.NodePort == req.NodePort {
				return fmt.Errorf("node port %d is taken by service %s/%s: set node_port to a free port of the NodePort range, or delete that service",
					req.NodePort, svc.Namespace, svc.Name)
			}
		}
	}
	return nil
}

// proxyConfig is the part of kube-proxy's KubeProxyConfiguration that decides whether NodePorts
// answer on 127.0.0.1.
type proxyConfig struct {
	Mode     string `json:"mode"`
	IPTables struct {
		LocalhostNodePorts *bool `json:"localhostNodePorts"`
	} `json:"iptables"`
}

// checkKubeProxy fails when kube-proxy's configuration, as far as the API shows it, says that
// NodePorts do not answer on 127.0.0.1. Where it cannot be seen (kube-proxy outside pods, as on
// k3s or the project's test cluster, or a CNI replacing it), it notes the assumption.
func checkKubeProxy(ctx context.Context, cs kubernetes.Interface, req Request, p *Placement) error {
	cfg, source, err := kubeProxyConfig(ctx, cs)
	if err != nil {
		p.Notes = append(p.Notes, fmt.Sprintf("could not read kube-proxy's configuration (%v); assumed it serves NodePorts on 127.0.0.1", err))
		return nil
	}
	if source == "" {
		p.Notes = append(p.Notes, "kube-proxy's configuration is not visible through the API (no kube-system/kube-proxy ConfigMap or pod); "+
			"assumed it serves NodePorts on 127.0.0.1, as its iptables mode does by default")
		return nil
	}
	why := ""
	switch mode := strings.ToLower(cfg.Mode); {
	case mode == "nftables":
		why = "runs in nftables mode, which does not forward NodePorts on 127.0.0.1"
	case mode == "ipvs":
		why = "runs in ipvs mode, which does not forward NodePorts on 127.0.0.1"
	case mode != "" && mode != "iptables":
		p.Notes = append(p.Notes, fmt.Sprintf("kube-proxy runs in mode %q (%s); assumed it serves NodePorts on 127.0.0.1", cfg.Mode, source))
	case cfg.IPTables.LocalhostNodePorts != nil && !*cfg.IPTables.LocalhostNodePorts:
		why = "has iptables.localhostNodePorts: false"
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("kube-proxy %s (%s), and the kubelet pulls the bootstrap images from 127.0.0.1:%d: "+
		"run kube-proxy in iptables mode with localhostNodePorts: true (the defaults) at least until the registry is up", why, source, req.NodePort)
}

// kubeProxyConfig reads kubeadm's kube-proxy ConfigMap, or else the flags of kube-proxy pods.
// An empty source means neither exists.
func kubeProxyConfig(ctx context.Context, cs kubernetes.Interface) (proxyConfig, string, error) {
	var cfg proxyConfig
	cm, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "kube-proxy", metav1.GetOptions{})
	switch {
	case err == nil && cm.Data["config.conf"] != "":
		if err := yaml.Unmarshal([]byte(cm.Data["config.conf"]), &cfg); err != nil {
			return cfg, "", fmt.Errorf("kube-system/kube-proxy config.conf: %w", err)
		}
		return cfg, "ConfigMap kube-system/kube-proxy", nil
	case err != nil && !apierrors.IsNotFound(err):
		return cfg, "", err
	}
	for _, sel := range []string{"k8s-app=kube-proxy", "component=kube-proxy"} {
		pods, err := cs.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
		if err != nil {
			return cfg, "", err
		}
		if len(pods.Items) > 0 && len(pods.Items[0].Spec.Containers) > 0 {
			pod := pods.Items[0]
			c := pod.Spec.Containers[0]
			flagsInto(&cfg, append(slices.Clone(c.Command), c.Args...))
			return cfg, "flags of pod kube-system/" + pod.Name, nil
		}
	}
	return cfg, "", nil
}

// flagsInto reads --proxy-mode and --iptables-localhost-nodeports, in either "--f=v" or "--f v" form.
func flagsInto(cfg *proxyConfig, argv []string) {
	for i, arg := range argv {
		name, value, hasValue := strings.Cut(arg, "=")
		if !hasValue && i+1 < len(argv) {
			value = argv[i+1]
		}
		switch name {
		case "--proxy-mode":
			cfg.Mode = value
		case "--iptables-localhost-nodeports":
			on := value != "false"
			cfg.IPTables.LocalhostNodePorts = &on
		}
	}
}

// placeholderDigest stands in for the payload digest in the pod Preflight submits as a dry run.
const placeholderDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// dryRun submits the Service and, when the namespace exists, the pod as server-side dry runs:
// the API server validates them and runs every admission check (NodePort allocation, Pod
// Security, policy engines) without creating anything.
func dryRun(ctx context.Context, cs kubernetes.Interface, req Request, p *Placement) error {
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	svc := req.service()
	if !p.NamespaceExists {
		// A dry run needs an existing namespace; the NodePort is cluster-wide, so any will do.
		svc.Namespace, svc.Name, svc.GenerateName = metav1.NamespaceDefault, "", req.Name+"-preflight-"
	}
	_, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, dry)
	switch {
	case err == nil:
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("a Service named %s already exists in namespace %s: choose another name for the injection", req.Name, req.Namespace)
	case apierrors.IsForbidden(err) && !p.NamespaceExists:
		p.Notes = append(p.Notes, fmt.Sprintf("could not dry-run the NodePort Service in namespace default (%v)", err))
	default:
		return fmt.Errorf("the API server would refuse the injector's NodePort Service: %w", err)
	}
	if !p.NamespaceExists || p.Image == "" {
		return nil
	}
	pod := req.injectorPod(p, placeholderDigest, 1, 0)
	_, err = cs.CoreV1().Pods(req.Namespace).Create(ctx, pod, dry)
	switch {
	case err == nil:
		return nil
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("a pod named %s already exists in namespace %s: choose another name for the injection", req.Name, req.Namespace)
	}
	return fmt.Errorf("the API server would refuse the injector pod (non-root, no capabilities, read-only root, image %s on node %s): %w; "+
		"if a policy of namespace %s forbids it, use another namespace or allow the pod", p.Image, p.Node, err, req.Namespace)
}
