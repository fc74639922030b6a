package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PodError is the registry's new pod failing in a way waiting will not mend.
type PodError struct {
	Pod, Node string
	Reason    string // ErrImagePull, CrashLoopBackOff, ...
	Message   string // the kubelet's words, or the end of the registry's log
	Advice    string
}

func (e *PodError) Error() string {
	s := fmt.Sprintf("registry pod %s", e.Pod)
	if e.Node != "" {
		s += " on node " + e.Node
	}
	s += ": " + e.Reason
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Advice != "" {
		s += "; " + e.Advice
	}
	return s
}

// crashRestarts is how many restarts of a crashing registry make the wait give up: a registry
// that exits twice on start will do so again (bad storage settings, an unreachable bucket).
const crashRestarts = 2

// pullGrace is how long an image pull may keep failing before the wait gives up: the first
// attempts can race a NodePort that kube-proxy has not programmed yet.
const pullGrace = 45 * time.Second

// waitRollout waits until the Deployment runs r.Image, all of it updated and available, and no
// pod of an older template is left.
func waitRollout(ctx context.Context, cs kubernetes.Interface, r Registry) error {
	ctx, cancel := context.WithTimeoutCause(ctx, r.ReadyTimeout, fmt.Errorf("registry %s/%s not rolled out within %s", r.Namespace, r.Name, r.ReadyTimeout))
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	pullFailingSince := time.Time{}
	state := "not observed yet"
	for {
		d, err := cs.AppsV1().Deployments(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return waitErr(ctx, fmt.Errorf("reading deployment %s/%s: %w", r.Namespace, r.Name, err), state)
		}
		if done, now := rolledOut(d, r.Image); done {
			return nil
		} else {
			state = now
		}
		pods, err := cs.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(r.Name)})
		if err != nil {
			return waitErr(ctx, fmt.Errorf("listing the registry's pods: %w", err), state)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp != nil || len(p.Spec.Containers) == 0 || p.Spec.Containers[0].Image != r.Image {
				continue
			}
			perr := podTrouble(p)
			if perr == nil {
				continue
			}
			state = perr.Error()
			if perr.Reason == "ErrImagePull" || perr.Reason == "ImagePullBackOff" {
				if pullFailingSince.IsZero() {
					pullFailingSince = time.Now()
				}
				if time.Since(pullFailingSince) < pullGrace {
					continue
				}
				perr.Advice = pullAdvice(r.Image)
				return perr
			}
			if perr.Reason == "CrashLoopBackOff" || perr.Reason == "Error" {
				perr.Message = strings.TrimSpace(perr.Message + " " + podLog(ctx, cs, p))
				perr.Advice = "check the registry's storage settings (bucket, endpoint, credentials) and that the storage is reachable from the pod"
			}
			return perr
		}
		select {
		case <-ctx.Done():
			return waitErr(ctx, nil, state)
		case <-tick.C:
		}
	}
}

func waitErr(ctx context.Context, err error, state string) error {
	if cause := context.Cause(ctx); cause != nil {
		return fmt.Errorf("%w (last seen: %s)", cause, state)
	}
	return err
}

// rolledOut tells whether d has finished rolling out image, or else where it stands.
func rolledOut(d *appsv1.Deployment, image string) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case len(d.Spec.Template.Spec.Containers) == 0 || d.Spec.Template.Spec.Containers[0].Image != image:
		return false, "the deployment runs another image"
	case st.ObservedGeneration < d.Generation:
		return false, "the deployment controller has not seen the change yet"
	case st.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d pods updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return false, fmt.Sprintf("%d old pods still running", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < want:
		return false, fmt.Sprintf("%d of %d pods available", st.AvailableReplicas, want)
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "progress deadline exceeded: " + c.Message
		}
	}
	return true, "rolled out"
}

// podTrouble reports a registry pod that is stuck: its image cannot be pulled, or it crashes.
func podTrouble(p *corev1.Pod) *PodError {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return &PodError{Pod: p.Namespace + "/" + p.Name, Reason: "Unschedulable", Message: c.Message,
				Advice: "a volume claim that does not bind (no default StorageClass?) or no node with room"}
		}
	}
	for _, cst := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		if w := cst.State.Waiting; w != nil {
			switch {
			case slices.Contains([]string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}, w.Reason):
				return &PodError{Pod: p.Namespace + "/" + p.Name, Node: p.Spec.NodeName, Reason: w.Reason, Message: w.Message}
			case w.Reason == "CrashLoopBackOff" && cst.RestartCount >= crashRestarts:
				msg := ""
				if t := cst.LastTerminationState.Terminated; t != nil {
					msg = fmt.Sprintf("exited with status %d %s", t.ExitCode, strings.TrimSpace(t.Message))
				}
				return &PodError{Pod: p.Namespace + "/" + p.Name, Node: p.Spec.NodeName, Reason: w.Reason, Message: msg}
			case w.Reason == "CreateContainerConfigError":
				return &PodError{Pod: p.Namespace + "/" + p.Name, Node: p.Spec.NodeName, Reason: w.Reason, Message: w.Message}
			}
		}
	}
	return nil
}

func pullAdvice(image string) string {
	if strings.HasPrefix(image, "127.0.0.1:") {
		return "the node could not pull " + image + " from its own 127.0.0.1: is the registry (or injector) behind that NodePort serving, and does containerd on the node pull from it over plain HTTP?"
	}
	return "the node could not pull " + image
}

// podLog is the end of the registry container's log, previous run first if it crashed.
func podLog(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) string {
	tail := int64(5)
	for _, previous := range []bool{true, false} {
		b, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "registry", Previous: previous, TailLines: &tail}).DoRaw(ctx)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return "log: " + strings.Join(strings.Fields(strings.TrimSpace(string(b))), " ")
		}
	}
	return ""
}

// WaitServing polls http://endpoint/v2/ until a registry answers (200, or 401 asking for
// credentials), at most timeout: a NodePort answers a moment after its Service has a ready
// endpoint, once kube-proxy has programmed it.
func WaitServing(ctx context.Context, client *http.Client, endpoint string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+endpoint+"/v2/", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET /v2/ answered %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry at %s not answering within %s: %w", endpoint, timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
