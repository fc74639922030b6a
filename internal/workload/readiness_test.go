package workload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	u.SetGroupVersionKind(gvks[0])
	return u
}

func deployment(generation, observed int64, want, updated, total, available int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: generation, UID: "d-uid",
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"}},
		Spec: appsv1.DeploymentSpec{Replicas: &want, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: total, UpdatedReplicas: updated,
			AvailableReplicas: available, ReadyReplicas: available},
	}
}

func TestKindProgress(t *testing.T) {
	stuck := deployment(2, 2, 1, 0, 1, 1)
	stuck.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "web-2" has timed out progressing.`}}
	paused := deployment(3, 2, 1, 0, 1, 1)
	paused.Spec.Paused = true
	three := int32(3)
	partition := int32(2)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 1},
		Spec: appsv1.StatefulSetSpec{Replicas: &three, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &partition}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, AvailableReplicas: 3, UpdatedReplicas: 1, UpdateRevision: "db-7"},
	}
	stsBehind := sts.DeepCopy()
	stsBehind.Status.ReadyReplicas = 2
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: 4},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}},
		Status:     appsv1.DaemonSetStatus{ObservedGeneration: 4, DesiredNumberScheduled: 1, UpdatedNumberScheduled: 0, NumberAvailable: 1},
	}
	job := func(conds ...batchv1.JobCondition) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "check"},
			Spec:   batchv1.JobSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"job": "check"}}},
			Status: batchv1.JobStatus{Conditions: conds, Active: 1}}
	}
	pod := func(phase corev1.PodPhase, ready corev1.ConditionStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{Phase: phase,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}}}
	}
	failedPod := pod(corev1.PodFailed, corev1.ConditionFalse)
	failedPod.Status.Reason = "Evicted"
	failedPod.Status.Message = "The node was low on resource: memory."

	tests := []struct {
		name      string
		obj       runtime.Object
		ready     bool
		state     string // a part of the state when not ready
		fail      string // a part of the failure
		wantPods  string // the pod selector's labels, when pods are looked at
		wantNamed string
	}{
		{"deployment rolled out", deployment(2, 2, 2, 2, 2, 2), true, "", "", "", ""},
		{"deployment not observed", deployment(3, 2, 2, 2, 2, 2), false, "has not observed generation 3", "", "", ""},
		{"deployment updating", deployment(2, 2, 2, 1, 2, 1), false, "1 of 2 replicas updated", "", "app=web", ""},
		{"deployment old replicas", deployment(2, 2, 2, 2, 3, 2), false, "1 old replicas pending termination", "", "app=web", ""},
		{"deployment unavailable", deployment(2, 2, 2, 2, 2, 1), false, "1 of 2 updated replicas available", "", "app=web", ""},
		{"deployment past its deadline", stuck, false, "", "ProgressDeadlineExceeded", "", ""},
		{"deployment paused", paused, true, "", "", "", ""},
		{"statefulset within its partition", sts, true, "", "", "", ""},
		{"statefulset not ready", stsBehind, false, "2 of 3 replicas ready", "", "app=db,controller-revision-hash=db-7", ""},
		{"daemonset updating", ds, false, "0 of 1 nodes updated", "", "app=agent", ""},
		{"job running", job(), false, "not complete: 0 succeeded, 1 active", "", "job=check", ""},
		{"job complete", job(batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}), true, "", "", "", ""},
		{"job failed", job(batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}), false, "", "JobFailed: BackoffLimitExceeded; Job has reached", "", ""},
		{"pod ready", pod(corev1.PodRunning, corev1.ConditionTrue), true, "", "", "", ""},
		{"pod succeeded", pod(corev1.PodSucceeded, corev1.ConditionFalse), true, "", "", "", ""},
		{"pod pending", pod(corev1.PodPending, corev1.ConditionFalse), false, "phase Pending, not Ready", "", "", "p"},
		{"pod failed", failedPod, false, "", "PodFailed: pod p: Evicted; The node was low on resource: memory.", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := toUnstructured(t, tt.obj)
			check := readiness[groupKind{u.GroupVersionKind().Group, u.GetKind()}]
			p, pods, err := check(u)
			if err != nil {
				t.Fatal(err)
			}
			if p.ready != tt.ready {
				t.Errorf("ready = %v, want %v (%+v)", p.ready, tt.ready, p)
			}
			if tt.state != "" && !strings.Contains(p.state, tt.state) {
				t.Errorf("state %q, want %q in it", p.state, tt.state)
			}
			if tt.fail != "" {
				if p.err == nil || !strings.Contains(p.err.Reason+": "+p.err.Detail, tt.fail) {
					t.Errorf("failure %+v, want %q", p.err, tt.fail)
				}
			} else if p.err != nil {
				t.Errorf("unexpected failure %v", p.err)
			}
			switch {
			case tt.wantPods == "" && tt.wantNamed == "" && pods != nil:
				t.Errorf("pods looked at: %+v", pods)
			case tt.wantPods != "" && (pods == nil || pods.labels != tt.wantPods):
				t.Errorf("pods %+v, want labels %q", pods, tt.wantPods)
			case tt.wantNamed != "" && (pods == nil || pods.name != tt.wantNamed):
				t.Errorf("pods %+v, want the pod %q", pods, tt.wantNamed)
			}
		})
	}
}

func TestPodFailure(t *testing.T) {
	waiting := func(reason, msg string, restarts int32) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "web", RestartCount: restarts,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Message: "usage: toolbox"}},
		}}}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string // "" for no failure
	}{
		{"pulling", waiting("ContainerCreating", "", 0), ""},
		{"first pull error is retried", waiting("ErrImagePull", "not found", 0), ""},
		{"pull backoff", waiting("ImagePullBackOff", `Back-off pulling image "r/x@sha256:1"`, 0), `ImagePullBackOff: pod web-1, container "web": Back-off pulling image "r/x@sha256:1"`},
		{"never pull", waiting("ErrImageNeverPull", "not present", 0), "ErrImageNeverPull"},
		{"crashed twice", waiting("CrashLoopBackOff", "back-off 20s", 2), ""},
		{"crashed three times", waiting("CrashLoopBackOff", "back-off 40s", 3),
			`CrashLoopBackOff: pod web-1, container "web" exited with code 2 and was restarted 3 times; its last words: usage: toolbox`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := podFailure(tt.pod, 3)
			switch {
			case tt.want == "" && f != nil:
				t.Errorf("failure %+v", f)
			case tt.want != "" && f == nil:
				t.Errorf("no failure, want %q", tt.want)
			case tt.want != "" && !strings.Contains(f.reason+": "+f.detail(), tt.want):
				t.Errorf("got %q, want %q", f.reason+": "+f.detail(), tt.want)
			}
		})
	}
}

// fixedMapper is a RESTMapper that cannot learn anything new.
type fixedMapper struct{ meta.RESTMapper }

func (fixedMapper) Reset() {}

// fakeClient is a Client over fake clients holding objs (in both: the dynamic client reads the
// objects waited for, the clientset their ReplicaSets, pods and logs).
func fakeClient(t *testing.T, objs ...runtime.Object) *Client {
	t.Helper()
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk      schema.GroupVersionKind
		resource string
	}{
		{appsv1.SchemeGroupVersion.WithKind("Deployment"), "deployments"},
		{appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "replicasets"},
		{corev1.SchemeGroupVersion.WithKind("Pod"), "pods"},
	} {
		mapper.AddSpecific(k.gvk, k.gvk.GroupVersion().WithResource(k.resource), k.gvk.GroupVersion().WithResource(k.resource[:len(k.resource)-1]), meta.RESTScopeNamespace)
	}
	var us []runtime.Object
	for _, o := range objs {
		us = append(us, toUnstructured(t, o))
	}
	c := newClient(dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), us...), fake.NewClientset(objs...), fixedMapper{mapper})
	c.poll = 10 * time.Millisecond
	return c
}

func replicaSet(name, revision, hash string) *appsv1.ReplicaSet {
	yes := true
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "shop", Labels: map[string]string{"app": "web", "pod-template-hash": hash},
		Annotations:     map[string]string{"deployment.kubernetes.io/revision": revision},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "d-uid", Controller: &yes}},
	}}
}

func webPod(name, hash string, state corev1.ContainerState, restarts int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web", "pod-template-hash": hash}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "web", State: state, RestartCount: restarts,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}},
		}}},
	}
}

var crashing = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}}
var creating = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}

var webRef = ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}

func TestWaitReadyFailsEarlyOnTheNewestRevision(t *testing.T) {
	c := fakeClient(t, deployment(2, 2, 1, 1, 2, 0),
		replicaSet("web-old", "1", "old"), replicaSet("web-new", "2", "new"),
		webPod("web-old-a", "old", corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, 0),
		webPod("web-new-a", "new", crashing, 1))
	err := c.WaitReady(context.Background(), []ObjectRef{webRef}, WaitOptions{Timeout: time.Minute, CrashLoopRestarts: 1})
	var nr *NotReadyError
	if !errors.As(err, &nr) || nr.Reason != "CrashLoopBackOff" || nr.Object != webRef {
		t.Fatalf("got %v", err)
	}
	// The fake clientset answers every log request with "fake logs": the container's last words.
	want := `Deployment.apps shop/web failed: CrashLoopBackOff: pod web-new-a, container "web" exited with code 2 and was restarted once; its last words: fake logs`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestWaitReadyIgnoresOldPodsAndTimesOut(t *testing.T) {
	// The crash loop is in the old ReplicaSet's pod, which the rollout replaces: no early failure.
	c := fakeClient(t, deployment(2, 2, 1, 1, 2, 0),
		replicaSet("web-old", "1", "old"), replicaSet("web-new", "2", "new"),
		webPod("web-old-a", "old", crashing, 5),
		webPod("web-new-a", "new", creating, 0))
	err := c.WaitReady(context.Background(), []ObjectRef{webRef}, WaitOptions{Timeout: 100 * time.Millisecond})
	var nr *NotReadyError
	if !errors.As(err, &nr) || nr.Reason != reasonTimeout {
		t.Fatalf("got %v, want a timeout", err)
	}
	want := `Deployment.apps shop/web is not ready: not ready within 100ms: 1 old replicas pending termination (pod web-new-a, container "web" waiting: ContainerCreating)`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestWaitReadyDone(t *testing.T) {
	c := fakeClient(t, deployment(2, 2, 1, 1, 1, 1))
	if err := c.WaitReady(context.Background(), []ObjectRef{webRef}, WaitOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// Not waiting at all is not waiting: even for an object that does not exist.
	missing := webRef
	missing.Name = "absent"
	if err := c.WaitReady(context.Background(), []ObjectRef{missing}, WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitReady(ctx, []ObjectRef{missing}, WaitOptions{Timeout: time.Minute}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestCRDProgress(t *testing.T) {
	crd := func(conds ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "widgets.test.openairgap.dev"},
			"status":   map[string]any{"conditions": conds},
		}}
	}
	cond := func(typ, status, msg string) any {
		return map[string]any{"type": typ, "status": status, "message": msg}
	}
	if p, _, err := crdProgress(crd(cond("NamesAccepted", "True", ""), cond("Established", "True", ""))); err != nil || !p.ready {
		t.Errorf("established: %+v %v", p, err)
	}
	if p, _, err := crdProgress(crd()); err != nil || p.ready || p.state != "not established" {
		t.Errorf("new: %+v %v", p, err)
	}
	p, _, err := crdProgress(crd(cond("NamesAccepted", "False", `"widgets" is already in use`)))
	if err != nil || p.err == nil || p.err.Reason != "NamesNotAccepted" || p.err.Detail != `"widgets" is already in use` {
		t.Errorf("names taken: %+v %v", p, err)
	}
}

// A container with no readiness probe is Ready for the instant between its start and its crash.
// A wait that looks at that instant must not call the rollout done.
func TestWaitReadyLooksTwiceBeforeCallingARolloutDone(t *testing.T) {
	c := fakeClient(t, deployment(2, 2, 1, 1, 1, 1))
	dyn := c.dynamic.(*dynamicfake.FakeDynamicClient)
	gets := 0
	dyn.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		if gets == 1 {
			return true, toUnstructured(t, deployment(2, 2, 1, 1, 1, 1)), nil // the instant it looked ready
		}
		return true, toUnstructured(t, deployment(2, 2, 1, 1, 1, 0)), nil // crashed since
	})
	err := c.WaitReady(context.Background(), []ObjectRef{webRef}, WaitOptions{Timeout: 100 * time.Millisecond})
	var nr *NotReadyError
	if !errors.As(err, &nr) || nr.Reason != reasonTimeout {
		t.Fatalf("got %v, want a timeout: the deployment was ready only once", err)
	}
	if gets < 2 {
		t.Fatalf("looked %d times", gets)
	}
}
