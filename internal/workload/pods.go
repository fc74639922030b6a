package workload

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// Waiting reasons after which the kubelet will not get any further by itself: in an enclave an
// image that cannot be pulled now will not appear later (the registry was filled before).
var fatalWaiting = []string{"ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}

// podsProblem looks at the pods sel selects and returns why one of them never will be ready,
// or else a short state of the first one that is not (to say where a wait got to).
func (c *Client) podsProblem(ctx context.Context, namespace string, sel *podSelector, crashLoops int32) (*NotReadyError, string, error) {
	pods, err := c.selectPods(ctx, namespace, sel)
	if err != nil {
		return nil, "", err
	}
	state := ""
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil {
			continue // on its way out
		}
		if fail := podFailure(pod, crashLoops); fail != nil {
			if fail.reason == "CrashLoopBackOff" && fail.lastWords == "" {
				fail.lastWords = c.lastLogLines(ctx, pod, fail.container)
			}
			return &NotReadyError{Reason: fail.reason, Detail: fail.detail()}, "", nil
		}
		if state == "" {
			state = podState(pod)
		}
	}
	return nil, state, nil
}

func (c *Client) selectPods(ctx context.Context, namespace string, sel *podSelector) ([]corev1.Pod, error) {
	opts := metav1.ListOptions{LabelSelector: sel.labels}
	if sel.name != "" {
		opts = metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", sel.name).String()}
	}
	if sel.deployment != nil {
		hash, err := c.newestTemplateHash(ctx, sel.deployment)
		if err != nil || hash == "" {
			return nil, err // no ReplicaSet for this revision yet: no pods of it either
		}
		opts.LabelSelector += "," + appsv1.DefaultDeploymentUniqueLabelKey + "=" + hash
	}
	list, err := c.core.CoreV1().Pods(namespace).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// newestTemplateHash is the pod-template-hash of the ReplicaSet that carries the Deployment's
// current revision, or "" while there is none.
func (c *Client) newestTemplateHash(ctx context.Context, d *appsv1.Deployment) (string, error) {
	const revision = "deployment.kubernetes.io/revision"
	list, err := c.core.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
	if err != nil {
		return "", err
	}
	for _, rs := range list.Items {
		if !metav1.IsControlledBy(&rs, d) || rs.Annotations[revision] != d.Annotations[revision] {
			continue
		}
		return rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey], nil
	}
	return "", nil
}

// containerFailure is a container that will not get ready by itself.
type containerFailure struct {
	pod, container string
	reason         string
	message        string // the kubelet's words
	exitCode       int32
	restarts       int32
	lastWords      string // the container's termination message, or the end of its log
}

func (f *containerFailure) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s", f.pod)
	if f.container != "" {
		fmt.Fprintf(&b, ", container %q", f.container)
	}
	if f.reason == "CrashLoopBackOff" {
		fmt.Fprintf(&b, " exited with code %d and was restarted %s", f.exitCode, times(f.restarts))
	}
	if f.message != "" {
		b.WriteString(": " + f.message)
	}
	if w := strings.TrimSpace(f.lastWords); w != "" {
		b.WriteString("; its last words: " + w)
	}
	return b.String()
}

// podFailure returns why pod will never be ready by itself, or nil.
func podFailure(pod *corev1.Pod, crashLoops int32) *containerFailure {
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, st := range statuses {
		w := st.State.Waiting
		if w == nil {
			continue
		}
		switch {
		case slices.Contains(fatalWaiting, w.Reason):
			return &containerFailure{pod: pod.Name, container: st.Name, reason: w.Reason, message: w.Message}
		case w.Reason == "CrashLoopBackOff" && st.RestartCount >= crashLoops:
			f := &containerFailure{pod: pod.Name, container: st.Name, reason: w.Reason, restarts: st.RestartCount}
			if t := st.LastTerminationState.Terminated; t != nil {
				f.exitCode, f.lastWords = t.ExitCode, t.Message
			}
			return f
		}
	}
	return nil
}

// podState is a short description of a pod that is not ready, for timeout messages.
func podState(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s not scheduled: %s", pod.Name, describe(c.Reason, c.Message))
		}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, st := range statuses {
		switch {
		case st.State.Waiting != nil:
			return fmt.Sprintf("pod %s, container %q waiting: %s", pod.Name, st.Name, describe(st.State.Waiting.Reason, st.State.Waiting.Message))
		case st.State.Running != nil && !st.Ready:
			return fmt.Sprintf("pod %s, container %q running, not ready", pod.Name, st.Name)
		}
	}
	return fmt.Sprintf("pod %s: phase %s", pod.Name, pod.Status.Phase)
}

// lastLogLines returns the end of the container's previous log: what it said before it exited.
// It is best effort: a log that cannot be read gives "".
func (c *Client) lastLogLines(ctx context.Context, pod *corev1.Pod, container string) string {
	tail, limit := int64(5), int64(2048)
	raw, err := c.core.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container: container, Previous: true, TailLines: &tail, LimitBytes: &limit,
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}

func times(n int32) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
