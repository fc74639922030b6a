package inject

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// InjectorError is the injector pod failing before it served: the injector refusing its payload
// (a chunk that no longer holds what was uploaded), or the pod not starting at all.
type InjectorError struct {
	Pod, Node string
	ExitCode  int32  // the injector's exit status; 0 if it never ran
	Message   string // the injector's own words (the end of its log), or the kubelet's
	Advice    string // what to do
}

func (e *InjectorError) Error() string {
	what := "failed before serving"
	if e.ExitCode != 0 {
		what = fmt.Sprintf("exited with status %d before serving", e.ExitCode)
	}
	return fmt.Sprintf("injector pod %s on node %s %s: %s; %s", e.Pod, e.Node, what, e.Message, e.Advice)
}

// Waiting reasons after which the kubelet will not get any further by itself: the borrowed image
// is not on the node (and there is nowhere to pull it from).
var fatalWaiting = []string{"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}

// fatalStart recognises runtime errors that a retry cannot fix, among the transient ones (a
// runtime timing out under load) that share their reasons, CreateContainerError and
// RunContainerError.
func fatalStart(w *corev1.ContainerStateWaiting) bool {
	if w.Reason != "CreateContainerError" && w.Reason != "RunContainerError" {
		return false
	}
	for _, permanent := range []string{"exec format error", "permission denied", "no such file or directory"} {
		if strings.Contains(w.Message, permanent) {
			return true
		}
	}
	return false
}

// waitReady waits until the injector pod is Ready and its Service lists it as a ready endpoint,
// at most req.ReadyTimeout. It fails at once when the pod cannot get there: the injector exited
// (it does so, without listening, when the chunks do not add up to the digest), the image is
// gone, the kubelet refused the pod.
func (req Request) waitReady(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeoutCause(ctx, req.ReadyTimeout, fmt.Errorf("not ready within %s", req.ReadyTimeout))
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	state := "not created yet"
	for {
		pod, err := cs.CoreV1().Pods(req.Namespace).Get(ctx, req.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("injector pod %s/%s was deleted while starting", req.Namespace, req.Name)
		case err == nil:
			ready, now, ierr := podProgress(pod)
			if ierr != nil {
				if ierr.Message = strings.TrimSpace(ierr.Message); ierr.Message == "" {
					ierr.Message = injectorLog(ctx, cs, pod)
				}
				if ierr.Advice == "" {
					ierr.Advice = adviceFor(ierr.Message)
				}
				return ierr
			}
			state = now
			if ready {
				if ok, err := endpointReady(ctx, cs, req); err == nil && ok {
					return nil
				}
				state = "pod Ready, waiting for its Service endpoint"
			}
		default:
			state = err.Error() // an API hiccup: keep waiting
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("injector pod %s/%s: %w; last seen: %s%s", req.Namespace, req.Name,
				context.Cause(ctx), state, recentEvents(context.WithoutCancel(ctx), cs, req))
		case <-tick.C:
		}
	}
}

// podProgress says whether pod is Ready, describes where it is, or returns why it never will be.
func podProgress(pod *corev1.Pod) (bool, string, *InjectorError) {
	fail := func(code int32, msg, advice string) *InjectorError {
		return &InjectorError{Pod: pod.Namespace + "/" + pod.Name, Node: pod.Spec.NodeName, ExitCode: code, Message: msg, Advice: advice}
	}
	if pod.Status.Phase == corev1.PodFailed {
		return false, "", fail(0, strings.TrimSpace(pod.Status.Reason+": "+pod.Status.Message),
			"the kubelet refused or stopped the pod; free what it names on the node, or set node to another one")
	}
	for _, st := range pod.Status.ContainerStatuses {
		if t := st.State.Terminated; t != nil {
			return false, "", fail(t.ExitCode, t.Message, "")
		}
		if t := st.LastTerminationState.Terminated; t != nil {
			return false, "", fail(t.ExitCode, t.Message, "")
		}
		if w := st.State.Waiting; w != nil && (slices.Contains(fatalWaiting, w.Reason) || fatalStart(w)) {
			return false, "", fail(0, w.Reason+": "+w.Message, adviceForWaiting(w, st.Image))
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true, "Ready", nil
		}
	}
	state := string(pod.Status.Phase)
	for _, st := range pod.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil {
			state += ", " + strings.TrimSuffix(w.Reason+": "+w.Message, ": ")
		} else if st.State.Running != nil {
			state += ", running, not Ready yet"
		}
	}
	return false, state, nil
}

func adviceFor(msg string) string {
	switch {
	case strings.Contains(msg, "sha256 mismatch"):
		return "the chunk ConfigMaps no longer hold the payload that was uploaded (one was edited or replaced by hand, or damaged in storage); " +
			"everything this apply created is removed: apply again to upload it anew"
	case strings.Contains(msg, "exec format error"):
		return "the injector binary does not match the node's architecture: check the provider's injector build"
	}
	return "everything this apply created is removed; fix what the injector says and apply again"
}

func adviceForWaiting(w *corev1.ContainerStateWaiting, image string) string {
	if strings.Contains(w.Reason, "Image") {
		return fmt.Sprintf("the image %s the injector borrows is not on the node (any more), and there is nowhere to pull it from: "+
			"apply again, and preflight picks an image that is there", image)
	}
	if strings.Contains(w.Message, "exec format error") {
		return "the injector binary does not match the node's architecture: check the provider's injector build"
	}
	return "the container runtime cannot start the injector in this image: set node to another node, or make another image available on it"
}

// injectorLog returns the end of the injector's log, for when the kubelet gave no termination
// message (the caller may still lack the right to read logs: then it says nothing).
func injectorLog(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) string {
	for _, previous := range []bool{false, true} {
		raw, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
			Container: componentInjector, Previous: previous, TailLines: ptr(int64(10)),
		}).DoRaw(ctx)
		if msg := strings.TrimSpace(string(raw)); err == nil && msg != "" {
			return msg
		}
	}
	return "(no log)"
}

// endpointReady tells whether the Service's EndpointSlices list a ready endpoint, after which
// kube-proxy starts forwarding the NodePort (within its sync period, about a second).
func endpointReady(ctx context.Context, cs kubernetes.Interface, req Request) (bool, error) {
	list, err := cs.DiscoveryV1().EndpointSlices(req.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + req.Name,
	})
	if err != nil {
		return false, err
	}
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				return true, nil
			}
		}
	}
	return false, nil
}

// recentEvents quotes the pod's last few events (a failing readiness probe, a refused volume).
func recentEvents(ctx context.Context, cs kubernetes.Interface, req Request) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	events, err := cs.CoreV1().Events(req.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Pod,involvedObject.name=" + req.Name,
	})
	if err != nil || len(events.Items) == 0 {
		return ""
	}
	items := events.Items
	slices.SortFunc(items, func(a, b corev1.Event) int { return a.LastTimestamp.Compare(b.LastTimestamp.Time) })
	var lines []string
	for _, e := range items[max(0, len(items)-3):] {
		lines = append(lines, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, strings.TrimSpace(e.Message)))
	}
	return "; recent events: " + strings.Join(lines, " | ")
}
