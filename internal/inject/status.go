package inject

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// State is what exists of an injection, for the provider's Read. It only reads.
type State struct {
	Objects       []ObjectRef // every object labelled for the injection
	Node, Image   string      // from the pod, if it exists
	PayloadDigest string      // the digest the pod was started with
	NodePort      int32       // the Service's, 0 without one
	Ready         bool        // the pod is Ready
	// Missing names what a complete injection has and this one lacks: the pod, the Service,
	// the binary, chunks. Empty when nothing is missing.
	Missing []string
}

// Exists tells whether anything of the injection is left.
func (s *State) Exists() bool { return len(s.Objects) > 0 }

// Serving tells whether the injection is complete and its pod Ready.
func (s *State) Serving() bool { return s.Ready && len(s.Missing) == 0 }

// Status reads what exists of injection name in namespace.
func Status(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*State, error) {
	if namespace == "" || name == "" {
		return nil, errors.New("status: namespace and name are required")
	}
	objs, err := listObjects(ctx, cs, namespace, name)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	st := &State{Objects: objs}
	if len(objs) == 0 {
		return st, nil
	}
	req := Request{Name: name, Namespace: namespace}
	has := func(kind, objName string) bool { return slices.Contains(objs, ObjectRef{kind, namespace, objName}) }
	wantChunks := 0
	if has("Pod", name) {
		pod, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err): // deleted since the list
			st.Missing = append(st.Missing, "pod/"+name)
		case err != nil:
			return nil, fmt.Errorf("status: reading pod %s/%s: %w", namespace, name, err)
		default:
			st.readPod(pod)
			wantChunks, _ = strconv.Atoi(pod.Annotations[annotationChunks])
		}
	} else {
		st.Missing = append(st.Missing, "pod/"+name)
	}
	if has("Service", name) {
		svc, err := cs.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("status: reading service %s/%s: %w", namespace, name, err)
		}
		if err == nil && len(svc.Spec.Ports) > 0 {
			st.NodePort = svc.Spec.Ports[0].NodePort
		}
	} else {
		st.Missing = append(st.Missing, "service/"+name)
	}
	if !has("ConfigMap", req.binaryName()) {
		st.Missing = append(st.Missing, "configmap/"+req.binaryName())
	}
	for i := range wantChunks {
		if !has("ConfigMap", req.chunkName(i)) {
			st.Missing = append(st.Missing, "configmap/"+req.chunkName(i))
		}
	}
	return st, nil
}

func (st *State) readPod(pod *corev1.Pod) {
	st.Node = pod.Spec.NodeName
	st.PayloadDigest = pod.Annotations[annotationDigest]
	if len(pod.Spec.Containers) > 0 {
		st.Image = pod.Spec.Containers[0].Image
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			st.Ready = c.Status == corev1.ConditionTrue
		}
	}
}
