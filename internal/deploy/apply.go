package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

var applyOptions = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

// Apply creates or updates every object of the registry to match r, server-side, and waits
// until the Deployment has rolled out r.Image. Objects already as described are left alone, so
// applying the same registry twice changes nothing and restarts nothing.
func Apply(ctx context.Context, cs kubernetes.Interface, r Registry) (*State, error) {
	r, err := r.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if err := apply(ctx, cs, r, ""); err != nil {
		return nil, err
	}
	if err := waitRollout(ctx, cs, r); err != nil {
		return nil, err
	}
	return Status(ctx, cs, r.Namespace, r.Name)
}

// apply writes the objects; retired, when set, becomes the Deployment's retired-injection
// annotation (else the one already there is kept).
func apply(ctx context.Context, cs kubernetes.Interface, r Registry, retired string) error {
	if err := ensureNamespace(ctx, cs, r); err != nil {
		return err
	}
	data, err := ensureSecretData(ctx, cs, r)
	if err != nil {
		return err
	}
	if retired == "" {
		d, err := cs.AppsV1().Deployments(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading deployment %s/%s: %w", r.Namespace, r.Name, err)
		}
		if err == nil {
			retired = d.Annotations[AnnotationRetiredInjection]
		}
	}
	core := cs.CoreV1()
	if _, err := core.Secrets(r.Namespace).Apply(ctx, r.configSecret(data), applyOptions); err != nil {
		return fmt.Errorf("applying secret %s/%s: %w", r.Namespace, r.secretName(), err)
	}
	if r.Username != "" {
		if _, err := core.Secrets(r.Namespace).Apply(ctx, r.pullSecret(r.Namespace), applyOptions); err != nil {
			return fmt.Errorf("applying pull secret %s/%s: %w", r.Namespace, r.pullSecretName(), err)
		}
	} else if err := core.Secrets(r.Namespace).Delete(ctx, r.pullSecretName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting pull secret %s/%s of a registry without authentication: %w", r.Namespace, r.pullSecretName(), err)
	}
	if r.Storage.Volume != nil {
		if _, err := core.PersistentVolumeClaims(r.Namespace).Apply(ctx, r.claim(), applyOptions); err != nil {
			return fmt.Errorf("applying persistent volume claim %s/%s: %w", r.Namespace, r.claimName(), err)
		}
	}
	if _, err := core.Services(r.Namespace).Apply(ctx, r.service(), applyOptions); err != nil {
		return fmt.Errorf("applying service %s/%s (node port %d): %w", r.Namespace, r.Name, r.NodePort, err)
	}
	if _, err := cs.AppsV1().Deployments(r.Namespace).Apply(ctx, r.deployment(data, retired), applyOptions); err != nil {
		return fmt.Errorf("applying deployment %s/%s: %w", r.Namespace, r.Name, err)
	}
	return nil
}

// ensureNamespace creates the namespace when missing, labelled so that Remove may delete it.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, r Registry) error {
	_, err := cs.CoreV1().Namespaces().Get(ctx, r.Namespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", r.Namespace, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   r.Namespace,
		Labels: map[string]string{LabelManagedBy: ManagedBy, LabelCreatedNamespace: r.Name},
	}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", r.Namespace, err)
	}
	return nil
}

// ensureSecretData builds the configuration Secret's contents, keeping the random parts (the
// HTTP secret, the bcrypt hash while it still matches the password) of the one in the cluster.
func ensureSecretData(ctx context.Context, cs kubernetes.Interface, r Registry) (secretData, error) {
	old := map[string][]byte{}
	s, err := cs.CoreV1().Secrets(r.Namespace).Get(ctx, r.secretName(), metav1.GetOptions{})
	switch {
	case err == nil:
		old = s.Data
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading secret %s/%s: %w", r.Namespace, r.secretName(), err)
	}
	data := secretData{}
	if v := old[keyHTTPSecret]; len(v) >= 32 {
		data[keyHTTPSecret] = v
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		data[keyHTTPSecret] = []byte(hex.EncodeToString(b))
	}
	if r.Username != "" {
		line, err := htpasswdLine(old[keyHTPasswd], r.Username, r.Password)
		if err != nil {
			return nil, err
		}
		data[keyHTPasswd] = line
	}
	if s3 := r.Storage.S3; s3 != nil && s3.AccessKey != "" {
		data[keyS3AccessKey] = []byte(s3.AccessKey)
		data[keyS3SecretKey] = []byte(s3.SecretKey)
	}
	return data, nil
}

// htpasswdLine returns "user:bcrypt\n" for the credentials: old if it already says so.
func htpasswdLine(old []byte, user, password string) ([]byte, error) {
	if u, hash, ok := cutLine(old); ok && u == user && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil {
		return old, nil
	}
	if len(password) > 72 {
		return nil, errors.New("password: at most 72 bytes (bcrypt)")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hashing the registry password: %w", err)
	}
	return []byte(user + ":" + string(hash) + "\n"), nil
}

// cutLine splits a one-line htpasswd file.
func cutLine(b []byte) (user string, hash []byte, ok bool) {
	line, found := bytes.CutSuffix(b, []byte("\n"))
	if !found || bytes.Contains(line, []byte("\n")) {
		return "", nil, false
	}
	u, h, ok := bytes.Cut(line, []byte(":"))
	return string(u), h, ok
}

// CopyPullSecret puts the registry's pull Secret into namespace, for workloads there, and
// returns its name; a missing namespace is created (and left in place by Remove, since the
// workloads meant for it outlive any one registry). The copy is labelled as the registry's, so
// Remove deletes it too.
func CopyPullSecret(ctx context.Context, cs kubernetes.Interface, r Registry, namespace string) (string, error) {
	r, err := r.WithDefaults()
	if err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	if r.Username == "" {
		return "", errors.New("the registry has no authentication: there is no pull secret to copy")
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("creating namespace %s for the pull secret: %w", namespace, err)
		}
	}
	if _, err := cs.CoreV1().Secrets(namespace).Apply(ctx, r.pullSecret(namespace), applyOptions); err != nil {
		return "", fmt.Errorf("applying pull secret %s/%s: %w", namespace, r.pullSecretName(), err)
	}
	return r.pullSecretName(), nil
}
