package inject

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodProgress(t *testing.T) {
	mismatch := "injector: payload sha256 mismatch: expected sha256:aa, actual sha256:bb (3 chunks, 9 bytes read from /airgap/chunks); refusing to serve"
	withStatus := func(phase corev1.PodPhase, st ...corev1.ContainerStatus) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "inj"},
			Spec:       corev1.PodSpec{NodeName: "n1"},
			Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: st},
		}
	}
	ready := withStatus(corev1.PodRunning, corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
	ready.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		wantReady bool
		wantState string
		wantErr   []string
	}{
		{"ready", ready, true, "Ready", nil},
		{"creating", withStatus(corev1.PodPending, corev1.ContainerStatus{State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}), false, "Pending, ContainerCreating", nil},
		{"started, not ready", withStatus(corev1.PodRunning, corev1.ContainerStatus{State: corev1.ContainerState{
			Running: &corev1.ContainerStateRunning{}}}), false, "running, not Ready", nil},
		{"refused its payload", withStatus(corev1.PodRunning, corev1.ContainerStatus{State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: mismatch}}}), false, "",
			[]string{"ns/inj on node n1 exited with status 1", "payload sha256 mismatch", "edited or replaced"}},
		{"refused, then restarting", withStatus(corev1.PodRunning, corev1.ContainerStatus{
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: mismatch}}}),
			false, "", []string{"exited with status 1", "payload sha256 mismatch"}},
		{"image gone", withStatus(corev1.PodPending, corev1.ContainerStatus{Image: "registry.k8s.io/pause:3.10", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "dial tcp: no route to host"}}}), false, "",
			[]string{"ErrImagePull: dial tcp", "the image registry.k8s.io/pause:3.10 the injector borrows is not on the node"}},
		{"wrong architecture", withStatus(corev1.PodPending, corev1.ContainerStatus{State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: "exec /airgap/bin/injector: exec format error"}}}), false, "",
			[]string{"exec format error", "does not match the node's architecture"}},
		{"a runtime timing out is waited for", withStatus(corev1.PodPending, corev1.ContainerStatus{State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: "context deadline exceeded"}}}), false,
			"CreateContainerError: context deadline exceeded", nil},
		{"refused by the kubelet", func() *corev1.Pod {
			p := withStatus(corev1.PodFailed)
			p.Status.Reason, p.Status.Message = "OutOfmemory", "Node didn't have enough resource: memory"
			return p
		}(), false, "", []string{"OutOfmemory: Node didn't have enough resource", "the kubelet refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, state, ierr := podProgress(tt.pod)
			if ierr != nil && ierr.Advice == "" {
				ierr.Advice = adviceFor(ierr.Message) // as waitReady does
			}
			if len(tt.wantErr) > 0 {
				if ierr == nil {
					t.Fatalf("no error; ready %v, state %q", ok, state)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(ierr.Error(), want) {
						t.Errorf("error lacks %q: %v", want, ierr)
					}
				}
				return
			}
			if ierr != nil || ok != tt.wantReady || !strings.Contains(state, tt.wantState) {
				t.Errorf("got %v, %q, %v", ok, state, ierr)
			}
		})
	}
}
