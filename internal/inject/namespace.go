package inject

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ensureNamespace creates the namespace when it is missing (after a deletion in progress has
// finished) and says whether it did. A namespace it creates carries LabelCreatedNamespace, which
// is how Remove knows, with no state kept elsewhere, that it may delete it.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, req Request) (bool, error) {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, req.Namespace, metav1.GetOptions{})
	switch {
	case err == nil && ns.DeletionTimestamp == nil:
		return false, nil
	case err == nil:
		if err := waitGone(ctx, "namespace "+req.Namespace, func(ctx context.Context) error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, req.Namespace, metav1.GetOptions{})
			return err
		}); err != nil {
			return false, err
		}
	case !apierrors.IsNotFound(err):
		return false, fmt.Errorf("reading namespace %s: %w", req.Namespace, err)
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   req.Namespace,
		Labels: map[string]string{LabelManagedBy: ManagedBy, LabelCreatedNamespace: req.Name},
	}}, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err): // created meanwhile by someone else: theirs
		return false, nil
	case err != nil:
		return false, fmt.Errorf("creating namespace %s: %w", req.Namespace, err)
	}
	return true, nil
}

// removeNamespace deletes the namespace if injection name created it and nothing else lives in
// it: a registry deployed into the same namespace afterwards must outlive the injection.
func removeNamespace(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	return RemoveCreatedNamespace(ctx, cs, namespace, LabelCreatedNamespace, name)
}

// RemoveCreatedNamespace deletes namespace, and waits until it is gone, if it carries this
// provider's managed-by label and createdBy=owner, and holds nothing but what Kubernetes puts in
// every namespace: the injection and the registry each delete only the namespace they created,
// once it is empty of others' pods, services, claims, config maps and secrets.
func RemoveCreatedNamespace(ctx context.Context, cs kubernetes.Interface, namespace, createdBy, owner string) error {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading namespace %s: %w", namespace, err)
	case ns.Labels[LabelManagedBy] != ManagedBy || ns.Labels[createdBy] != owner:
		return nil
	}
	if ns.DeletionTimestamp == nil {
		others, err := namespaceInUse(ctx, cs, namespace)
		if err != nil || others != "" {
			return err // kept: it holds others
		}
		err = cs.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &ns.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", namespace, err)
		}
	}
	return waitGone(ctx, "namespace "+namespace, func(ctx context.Context) error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		return err
	})
}

// namespaceInUse names one object in the namespace that is not the injection's and not one
// Kubernetes puts in every namespace, or returns "".
func namespaceInUse(ctx context.Context, cs kubernetes.Interface, namespace string) (string, error) {
	few := metav1.ListOptions{Limit: 5}
	checks := []func() (string, error){
		func() (string, error) {
			l, err := cs.CoreV1().Pods(namespace).List(ctx, few)
			if err != nil {
				return "", err
			}
			return firstName(l.Items, func(o corev1.Pod) string { return "pod/" + o.Name }), nil
		},
		func() (string, error) {
			l, err := cs.CoreV1().Services(namespace).List(ctx, few)
			if err != nil {
				return "", err
			}
			return firstName(l.Items, func(o corev1.Service) string { return "service/" + o.Name }), nil
		},
		func() (string, error) {
			names, err := configMapNames(ctx, cs, namespace, "")
			for _, n := range names {
				if n != "kube-root-ca.crt" { // published into every namespace
					return "configmap/" + n, nil
				}
			}
			return "", err
		},
		func() (string, error) {
			l, err := cs.CoreV1().Secrets(namespace).List(ctx, few)
			if err != nil {
				return "", err
			}
			return firstName(l.Items, func(o corev1.Secret) string {
				if o.Type == corev1.SecretTypeServiceAccountToken { // made for the default account before 1.24
					return ""
				}
				return "secret/" + o.Name
			}), nil
		},
		func() (string, error) {
			l, err := cs.CoreV1().PersistentVolumeClaims(namespace).List(ctx, few)
			if err != nil {
				return "", err
			}
			return firstName(l.Items, func(o corev1.PersistentVolumeClaim) string { return "persistentvolumeclaim/" + o.Name }), nil
		},
	}
	for _, check := range checks {
		name, err := check()
		if err != nil {
			return "", fmt.Errorf("checking what else namespace %s holds: %w", namespace, err)
		}
		if name != "" {
			return name, nil
		}
	}
	return "", nil
}

// firstName returns the first non-empty name of items.
func firstName[T any](items []T, name func(T) string) string {
	for _, item := range items {
		if n := name(item); n != "" {
			return n
		}
	}
	return ""
}

// waitGone polls get until it answers NotFound.
func waitGone(ctx context.Context, what string, get func(context.Context) error) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be gone: %w (last: %v)", what, context.Cause(ctx), err)
		case <-tick.C:
		}
	}
}
