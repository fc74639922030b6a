package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/inject"
)

// Remove deletes registry name in namespace: its Deployment (waiting until its pods are gone),
// Service, Secrets (the pull Secret's copies in other namespaces too) and, unless keepData, its
// volume claim. Data in an S3 bucket is never touched. The namespace goes too when the registry
// created it and nothing else is left in it. Removing what is gone is not an error.
func Remove(ctx context.Context, cs kubernetes.Interface, namespace, name string, keepData bool) error {
	if namespace == "" || name == "" {
		return errors.New("remove registry: namespace and name are required")
	}
	r := Registry{Name: name, Namespace: namespace}
	fg := metav1.DeletePropagationForeground
	del := metav1.DeleteOptions{PropagationPolicy: &fg}
	errs := []error{
		ignoreNotFound(cs.AppsV1().Deployments(namespace).Delete(ctx, name, del)),
		ignoreNotFound(cs.CoreV1().Services(namespace).Delete(ctx, name, metav1.DeleteOptions{})),
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove registry: %w", err)
	}
	if err := waitGone(ctx, "the registry's pods", func(ctx context.Context) (int, error) {
		pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(name)})
		if err != nil {
			return 0, err
		}
		return len(pods.Items), nil
	}); err != nil {
		return fmt.Errorf("remove registry: %w", err)
	}
	// Secrets last: a pod being deleted may still mount the configuration.
	secrets, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: selector(name)})
	if err != nil {
		return fmt.Errorf("remove registry: listing its secrets: %w", err)
	}
	for _, s := range secrets.Items {
		if s.Namespace == namespace || s.Name == r.pullSecretName() {
			errs = append(errs, ignoreNotFound(cs.CoreV1().Secrets(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})))
		}
	}
	if !keepData {
		errs = append(errs, ignoreNotFound(cs.CoreV1().PersistentVolumeClaims(namespace).Delete(ctx, r.claimName(), metav1.DeleteOptions{})))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove registry: %w", err)
	}
	if err := inject.RemoveCreatedNamespace(ctx, cs, namespace, LabelCreatedNamespace, name); err != nil {
		return fmt.Errorf("remove registry: %w", err)
	}
	return nil
}

func waitGone(ctx context.Context, what string, count func(context.Context) (int, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		n, err := count(ctx)
		if err == nil && n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still there after 2m (%d left, %v)", what, n, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
