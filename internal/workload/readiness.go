package workload

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func convert[T any](u *unstructured.Unstructured) (*T, error) {
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

func selectorString(s *metav1.LabelSelector) (string, error) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "", err
	}
	return sel.String(), nil
}

// notObserved is the state of an object whose controller has not seen its latest spec yet.
func notObserved(generation, observed int64) (progress, bool) {
	if observed < generation {
		return progress{state: fmt.Sprintf("the controller has not observed generation %d yet (observed %d)", generation, observed)}, true
	}
	return progress{}, false
}

func deploymentProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	d, err := convert[appsv1.Deployment](u)
	if err != nil {
		return progress{}, nil, err
	}
	if d.Spec.Paused {
		return progress{ready: true}, nil, nil // a paused rollout goes nowhere by design
	}
	if p, waiting := notObserved(d.Generation, d.Status.ObservedGeneration); waiting {
		return p, nil, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return progress{err: &NotReadyError{Reason: c.Reason, Detail: c.Message}}, nil, nil
		}
	}
	want, st := replicas(d.Spec.Replicas), d.Status
	var state string
	switch {
	case st.UpdatedReplicas < want:
		state = fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		state = fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		state = fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas)
	default:
		return progress{ready: true}, nil, nil
	}
	sel, err := selectorString(d.Spec.Selector)
	if err != nil {
		return progress{}, nil, err
	}
	return progress{state: state}, &podSelector{labels: sel, deployment: d}, nil
}

func statefulSetProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	s, err := convert[appsv1.StatefulSet](u)
	if err != nil {
		return progress{}, nil, err
	}
	if p, waiting := notObserved(s.Generation, s.Status.ObservedGeneration); waiting {
		return p, nil, nil
	}
	want, st := replicas(s.Spec.Replicas), s.Status
	updatedWant := want
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		updatedWant = max(want-*ru.Partition, 0) // pods below the partition stay at their revision
	}
	rolling := s.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType
	var state string
	switch {
	case rolling && st.UpdatedReplicas < updatedWant:
		state = fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, updatedWant)
	case st.ReadyReplicas < want:
		state = fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)
	case st.AvailableReplicas < want:
		state = fmt.Sprintf("%d of %d replicas available", st.AvailableReplicas, want)
	default:
		return progress{ready: true}, nil, nil
	}
	sel, err := selectorString(s.Spec.Selector)
	if err != nil {
		return progress{}, nil, err
	}
	if st.UpdateRevision != "" {
		sel += ",controller-revision-hash=" + st.UpdateRevision
	}
	return progress{state: state}, &podSelector{labels: sel}, nil
}

func daemonSetProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	d, err := convert[appsv1.DaemonSet](u)
	if err != nil {
		return progress{}, nil, err
	}
	if p, waiting := notObserved(d.Generation, d.Status.ObservedGeneration); waiting {
		return p, nil, nil
	}
	st := d.Status
	rolling := d.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType
	var state string
	switch {
	case rolling && st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		state = fmt.Sprintf("%d of %d nodes updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)
	case st.NumberAvailable < st.DesiredNumberScheduled:
		state = fmt.Sprintf("%d of %d nodes available", st.NumberAvailable, st.DesiredNumberScheduled)
	default:
		return progress{ready: true}, nil, nil
	}
	sel, err := selectorString(d.Spec.Selector)
	if err != nil {
		return progress{}, nil, err
	}
	return progress{state: state}, &podSelector{labels: sel}, nil
}

func replicaSetProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	r, err := convert[appsv1.ReplicaSet](u)
	if err != nil {
		return progress{}, nil, err
	}
	if p, waiting := notObserved(r.Generation, r.Status.ObservedGeneration); waiting {
		return p, nil, nil
	}
	if want := replicas(r.Spec.Replicas); r.Status.ReadyReplicas < want {
		sel, err := selectorString(r.Spec.Selector)
		if err != nil {
			return progress{}, nil, err
		}
		return progress{state: fmt.Sprintf("%d of %d replicas ready", r.Status.ReadyReplicas, want)}, &podSelector{labels: sel}, nil
	}
	return progress{ready: true}, nil, nil
}

func replicationControllerProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	r, err := convert[corev1.ReplicationController](u)
	if err != nil {
		return progress{}, nil, err
	}
	if p, waiting := notObserved(r.Generation, r.Status.ObservedGeneration); waiting {
		return p, nil, nil
	}
	if want := replicas(r.Spec.Replicas); r.Status.ReadyReplicas < want {
		sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: r.Spec.Selector})
		return progress{state: fmt.Sprintf("%d of %d replicas ready", r.Status.ReadyReplicas, want)}, &podSelector{labels: sel}, nil
	}
	return progress{ready: true}, nil, nil
}

func podProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	pod, err := convert[corev1.Pod](u)
	if err != nil {
		return progress{}, nil, err
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return progress{ready: true}, nil, nil // a pod that ran to completion is done
	case corev1.PodFailed:
		return progress{err: &NotReadyError{Reason: "PodFailed", Detail: podFailedDetail(pod)}}, nil, nil
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return progress{ready: true}, nil, nil
		}
	}
	return progress{state: "phase " + string(pod.Status.Phase) + ", not Ready"}, &podSelector{name: pod.Name}, nil
}

func jobProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	j, err := convert[batchv1.Job](u)
	if err != nil {
		return progress{}, nil, err
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return progress{ready: true}, nil, nil
		case batchv1.JobFailed:
			return progress{err: &NotReadyError{Reason: "JobFailed", Detail: describe(c.Reason, c.Message)}}, nil, nil
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return progress{ready: true}, nil, nil // suspended on purpose: nothing to wait for
	}
	sel, err := selectorString(j.Spec.Selector)
	if err != nil {
		return progress{}, nil, err
	}
	state := fmt.Sprintf("%d succeeded, %d active, %d failed", j.Status.Succeeded, j.Status.Active, j.Status.Failed)
	return progress{state: "not complete: " + state}, &podSelector{labels: sel}, nil
}

func crdProgress(u *unstructured.Unstructured) (progress, *podSelector, error) {
	// Read as plain conditions: the typed definition lives in a module of its own.
	var crd struct {
		Status struct {
			Conditions []struct {
				Type    string `json:"type"`
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
		return progress{}, nil, err
	}
	for _, c := range crd.Status.Conditions {
		if c.Type == "Established" && c.Status == "True" {
			return progress{ready: true}, nil, nil
		}
		if c.Type == "NamesAccepted" && c.Status == "False" {
			return progress{err: &NotReadyError{Reason: "NamesNotAccepted", Detail: c.Message}}, nil, nil
		}
	}
	return progress{state: "not established"}, nil, nil
}

func podFailedDetail(pod *corev1.Pod) string {
	detail := describe(pod.Status.Reason, pod.Status.Message)
	for _, st := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if t := st.State.Terminated; t != nil && t.ExitCode != 0 {
			detail = describe(detail, fmt.Sprintf("container %q exited with code %d", st.Name, t.ExitCode), t.Message)
		}
	}
	if detail == "" {
		detail = "phase Failed"
	}
	return "pod " + pod.Name + ": " + detail
}
