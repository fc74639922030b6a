package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// State is what exists of a registry, for the provider's Read. It only reads.
type State struct {
	Namespace, Name string
	Image           string // the Deployment's image
	NodePort        int32  // the Service's, 0 without one
	Storage         string // "volume" or "s3", from the Deployment
	ClaimName       string // the volume claim, with volume storage
	// RetiredInjection is the Deployment's record of the injection it replaced,
	// "NAMESPACE/NAME@PAYLOAD_DIGEST", or empty.
	RetiredInjection string
	// Running lists the image IDs (ref@digest, as the node's runtime reports them) of the
	// registry's ready containers: proof of where they were pulled from.
	Running   []string
	RolledOut bool // the Deployment has rolled out its image and every pod is available
	// Missing names the objects a complete registry has and this one lacks.
	Missing []string
}

// Exists tells whether the registry's Deployment exists.
func (s *State) Exists() bool { return s.Image != "" }

// Serving tells whether everything is there and rolled out.
func (s *State) Serving() bool { return s.RolledOut && len(s.Missing) == 0 }

// Status reads what exists of registry name in namespace.
func Status(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*State, error) {
	if namespace == "" || name == "" {
		return nil, errors.New("registry status: namespace and name are required")
	}
	r := Registry{Name: name, Namespace: namespace}
	st := &State{Namespace: namespace, Name: name}
	d, err := cs.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		st.Missing = append(st.Missing, "deployment/"+name)
	case err != nil:
		return nil, fmt.Errorf("registry status: reading deployment %s/%s: %w", namespace, name, err)
	default:
		if len(d.Spec.Template.Spec.Containers) > 0 {
			st.Image = d.Spec.Template.Spec.Containers[0].Image
		}
		st.RolledOut, _ = rolledOut(d, st.Image)
		st.RetiredInjection = d.Annotations[AnnotationRetiredInjection]
		st.Storage = "s3"
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				st.Storage, st.ClaimName = "volume", v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		st.Missing = append(st.Missing, "service/"+name)
	case err != nil:
		return nil, fmt.Errorf("registry status: reading service %s/%s: %w", namespace, name, err)
	case len(svc.Spec.Ports) > 0:
		st.NodePort = svc.Spec.Ports[0].NodePort
	}
	if _, err := cs.CoreV1().Secrets(namespace).Get(ctx, r.secretName(), metav1.GetOptions{}); apierrors.IsNotFound(err) {
		st.Missing = append(st.Missing, "secret/"+r.secretName())
	} else if err != nil {
		return nil, fmt.Errorf("registry status: reading secret %s/%s: %w", namespace, r.secretName(), err)
	}
	if st.ClaimName != "" {
		if _, err := cs.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, st.ClaimName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			st.Missing = append(st.Missing, "persistentvolumeclaim/"+st.ClaimName)
		} else if err != nil {
			return nil, fmt.Errorf("registry status: reading claim %s/%s: %w", namespace, st.ClaimName, err)
		}
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(name)})
	if err != nil {
		return nil, fmt.Errorf("registry status: listing pods: %w", err)
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			if c.Ready && c.ImageID != "" && !slices.Contains(st.Running, c.ImageID) {
				st.Running = append(st.Running, c.ImageID)
			}
		}
	}
	slices.Sort(st.Running)
	return st, nil
}

// Retirement is a registry's record that it retired an injection.
type Retirement struct {
	Registry      string // "NAMESPACE/NAME" of the registry's Deployment
	PayloadDigest string // the payload the injection served
}

// RetiredBy finds the registry that retired injection name in namespace, or returns nil.
func RetiredBy(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*Retirement, error) {
	ds, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelName + "=" + AppName})
	if err != nil {
		return nil, fmt.Errorf("looking for the registry that retired injection %s/%s: %w", namespace, name, err)
	}
	for _, d := range ds.Items {
		if digest, ok := strings.CutPrefix(d.Annotations[AnnotationRetiredInjection], namespace+"/"+name+"@"); ok {
			return &Retirement{Registry: d.Namespace + "/" + d.Name, PayloadDigest: digest}, nil
		}
	}
	return nil, nil
}
