package inject

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Placement is where the injector can run, and what Preflight checked on the way.
type Placement struct {
	Node         string
	Architecture string // the node's, as GOARCH spells it
	Image        string // the image the injector pod borrows, already on Node
	ImageSize    int64  // bytes, 0 when the node does not say
	ImageSource  string // where it was found: a running pod, or the node's image list
	// Candidates are every image found on Node, in order of preference; Image is the first.
	Candidates []ImageCandidate
	NodePort   int32
	IPFamily   string // the Service's family: IPv4, the family of 127.0.0.1
	// NamespaceExists tells whether Inject will create the namespace (and Remove delete it).
	NamespaceExists bool
	// Notes are what Preflight could not verify, and what it assumed instead.
	Notes []string
}

// ImageCandidate is one image the injector could borrow.
type ImageCandidate struct {
	Image  string
	Size   int64 // 0: unknown
	Source string
}

// Preflight checks, before anything is created, that an injection can work: no objects of the
// same injection are left over, a Ready Linux node of a supported architecture holds an image to
// borrow, the NodePort is free and reachable on the nodes' 127.0.0.1 as far as the API can tell,
// the cluster has IPv4 services, and the API server would admit the Service and the pod. Every
// failure says what is missing and what to do; independent failures are reported together.
func Preflight(ctx context.Context, cs kubernetes.Interface, req Request) (*Placement, error) {
	req, err := req.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("injection request: %w", err)
	}
	p := &Placement{NodePort: req.NodePort}
	errs := []error{checkLeftovers(ctx, cs, req, p)}
	if err := choosePlacement(ctx, cs, req, p); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkIPFamily(ctx, cs, p), checkNodePortFree(ctx, cs, req, p), checkKubeProxy(ctx, cs, req, p))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	if err := dryRun(ctx, cs, req, p); err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	return p, nil
}

// checkLeftovers refuses to start over objects of an injection of the same name: an interrupted
// apply, or another configuration using the name. Deleting them silently could break the other.
func checkLeftovers(ctx context.Context, cs kubernetes.Interface, req Request, p *Placement) error {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, req.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading namespace %s: %w", req.Namespace, err)
	}
	p.NamespaceExists = true
	if ns.DeletionTimestamp != nil {
		p.NamespaceExists = false
		p.Notes = append(p.Notes, fmt.Sprintf("namespace %s is being deleted; Inject waits until it is gone, then creates it again", req.Namespace))
		return nil
	}
	objs, err := listObjects(ctx, cs, req.Namespace, req.Name)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return nil
	}
	return fmt.Errorf("injection %q already has %s in namespace %s: an earlier apply was interrupted, or another configuration uses the same name; "+
		"delete them (kubectl delete pods,services,configmaps -n %s -l '%s') or choose another name",
		req.Name, describeObjects(objs), req.Namespace, req.Namespace, selector(req.Name))
}

// choosePlacement picks the first usable node by name (or the one asked for) and its images.
func choosePlacement(ctx context.Context, cs kubernetes.Interface, req Request, p *Placement) error {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	nodes := list.Items
	slices.SortFunc(nodes, func(a, b corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	if req.Node != "" {
		i := slices.IndexFunc(nodes, func(n corev1.Node) bool { return n.Name == req.Node })
		if i < 0 {
			return fmt.Errorf("node %q does not exist (nodes: %s): set node to one of them, or leave it empty", req.Node, nodeNames(nodes))
		}
		nodes = nodes[i : i+1]
	}
	if len(nodes) == 0 {
		return errors.New("the cluster has no nodes: the injector needs a node to run on")
	}
	var why []string
	for i := range nodes {
		n := &nodes[i]
		if reason := unusable(n, req); reason != "" {
			why = append(why, fmt.Sprintf("node %s %s", n.Name, reason))
			continue
		}
		cands, note, err := imagesOn(ctx, cs, n)
		if err != nil {
			return err
		}
		if note != "" {
			p.Notes = append(p.Notes, note)
		}
		if len(cands) == 0 {
			why = append(why, fmt.Sprintf("node %s (%s) reports no image and runs no pod", n.Name, n.Status.NodeInfo.Architecture))
			continue
		}
		p.Node, p.Architecture, p.Candidates = n.Name, n.Status.NodeInfo.Architecture, cands
		p.Image, p.ImageSize, p.ImageSource = cands[0].Image, cands[0].Size, cands[0].Source
		return nil
	}
	return fmt.Errorf("no node can run the injector: %s. The injector is a static program that borrows any image already on a "+
		"Ready Linux node of architecture %s (the pause image is enough; nothing is pulled): add or fix such a node, "+
		"or set node to one that qualifies", strings.Join(why, "; "), strings.Join(req.Architectures, " or "))
}

// unusable says why the injector cannot run on n, or "".
func unusable(n *corev1.Node, req Request) string {
	info := n.Status.NodeInfo
	switch {
	case info.OperatingSystem != "linux":
		return fmt.Sprintf("runs %q, not linux", info.OperatingSystem)
	case !slices.Contains(req.Architectures, info.Architecture):
		return fmt.Sprintf("has architecture %s, not %s", info.Architecture, strings.Join(req.Architectures, " or "))
	case !nodeReady(n):
		return "is not Ready"
	case n.Spec.Unschedulable && req.Node == "":
		return "is cordoned (set node to use it anyway)"
	}
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

func nodeNames(nodes []corev1.Node) string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// imagesOn lists the images the injector can borrow on n, best first. Images of pods running on
// n come first: they are certainly on the node, of its architecture, and the kubelet does not
// garbage-collect an image in use. Then the node's own list (node.status.images, which holds the
// sandbox "pause" image too, though no pod spec names it). Within each, smaller images first:
// any image will do, since the injector needs nothing from it but a root filesystem. A caller
// that may not list pods cluster-wide gets the node's list alone, and a note saying so.
func imagesOn(ctx context.Context, cs kubernetes.Interface, n *corev1.Node) ([]ImageCandidate, string, error) {
	sizes := map[string]int64{}
	for _, img := range n.Status.Images {
		for _, name := range img.Names {
			sizes[name] = img.SizeBytes
		}
	}
	note := ""
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + n.Name + ",status.phase=Running",
	})
	switch {
	case apierrors.IsForbidden(err):
		note = fmt.Sprintf("may not list pods in all namespaces (%v): chose from node %s's image list only", err, n.Name)
		pods = &corev1.PodList{}
	case err != nil:
		return nil, "", fmt.Errorf("listing the pods on node %s: %w", n.Name, err)
	}
	seen := map[string]bool{}
	var fromPods []ImageCandidate
	for _, pod := range pods.Items {
		if pod.Spec.NodeName != n.Name || pod.Status.Phase != corev1.PodRunning {
			continue
		}
		for _, st := range pod.Status.ContainerStatuses {
			if st.State.Running == nil {
				continue
			}
			img := runningImage(pod.Spec, st)
			if img == "" || seen[img] {
				continue
			}
			seen[img], seen[st.ImageID] = true, true
			size := sizes[st.Image]
			if size == 0 {
				size = sizes[st.ImageID]
			}
			fromPods = append(fromPods, ImageCandidate{img, size, "running pod " + pod.Namespace + "/" + pod.Name})
		}
	}
	var fromNode []ImageCandidate
	for _, img := range n.Status.Images {
		name := preferredName(img.Names)
		if name == "" || slices.ContainsFunc(img.Names, func(s string) bool { return seen[s] }) {
			continue
		}
		fromNode = append(fromNode, ImageCandidate{name, img.SizeBytes, "node " + n.Name + " image list"})
	}
	bySize := func(a, b ImageCandidate) int { return compareSize(a.Size, b.Size) }
	slices.SortStableFunc(fromPods, bySize)
	slices.SortStableFunc(fromNode, bySize)
	return append(fromPods, fromNode...), note, nil
}

// runningImage is the name a running container's image is present under: the runtime's
// normalised name when it reports one, else the pod spec's.
func runningImage(spec corev1.PodSpec, st corev1.ContainerStatus) string {
	if st.Image != "" && !strings.HasPrefix(st.Image, "sha256:") {
		return st.Image
	}
	for _, c := range spec.Containers {
		if c.Name == st.Name {
			return c.Image
		}
	}
	return ""
}

// preferredName picks a tag reference (readable) over a digest one; both name an image present
// on the node, which is all that imagePullPolicy IfNotPresent needs. Bare IDs are not names.
func preferredName(names []string) string {
	digestName := ""
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "sha256:"):
		case strings.Contains(n, "@"):
			if digestName == "" {
				digestName = n
			}
		default:
			return n
		}
	}
	return digestName
}

// compareSize orders known sizes ascending, unknown (0) last.
func compareSize(a, b int64) int {
	switch {
	case a == b:
		return 0
	case a == 0:
		return 1
	case b == 0:
		return -1
	case a < b:
		return -1
	}
	return 1
}
