package inject

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Remove deletes every object labelled for injection name in namespace, waits until they are
// gone, and then deletes the namespace if that injection created it and nothing else is in it.
// Removing what is already gone is not an error, so a second Remove is harmless.
func Remove(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	if namespace == "" || name == "" {
		return errors.New("remove: namespace and name are required")
	}
	objs, err := listObjects(ctx, cs, namespace, name)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	// The pod first, so that no ConfigMap disappears under a running injector.
	var errs []error
	for _, o := range objs {
		if o.Kind == "Pod" {
			errs = append(errs, ignoreNotFound(cs.CoreV1().Pods(namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})))
		}
	}
	for _, o := range objs {
		if o.Kind == "Service" {
			errs = append(errs, ignoreNotFound(cs.CoreV1().Services(namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})))
		}
	}
	errs = append(errs, deleteConfigMaps(ctx, cs, namespace, name, objs))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if err := waitEmpty(ctx, cs, namespace, name); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if err := removeNamespace(ctx, cs, namespace, name); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

// deleteConfigMaps deletes the chunks in one request, or one by one where the caller may not
// delete collections.
func deleteConfigMaps(ctx context.Context, cs kubernetes.Interface, namespace, name string, objs []ObjectRef) error {
	cms := cs.CoreV1().ConfigMaps(namespace)
	err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector(name)})
	if err == nil || !(apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err)) {
		return err
	}
	var errs []error
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			errs = append(errs, ignoreNotFound(cms.Delete(ctx, o.Name, metav1.DeleteOptions{})))
		}
	}
	return errors.Join(errs...)
}

// waitEmpty waits until no object of the injection is listed any more: the pod goes last, once
// the kubelet has stopped the injector and torn its sandbox down.
func waitEmpty(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		left, err := listObjects(ctx, cs, namespace, name)
		if err == nil && len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%s still there", describeObjects(left))
			}
			return fmt.Errorf("waiting for the injection's objects to be gone: %w (%v)", context.Cause(ctx), err)
		case <-tick.C:
		}
	}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
