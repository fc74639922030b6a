package receipt

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// AppendOptions carries what is not part of the receipt's content.
type AppendOptions struct {
	// Signer is the operator key. Nil writes an unsigned receipt; with a key, every receipt is
	// signed, so an unsigned one can only come from a configuration that has no key.
	Signer crypto.Signer
	// Now stamps Receipt.Time when the caller left it zero; nil means time.Now.
	Now func() time.Time
}

// maxAppendAttempts bounds the retries when other applies keep taking the next sequence number.
const maxAppendAttempts = 100

// Append records r as the next receipt of stream s: it links r to the newest receipt, signs it
// and creates its immutable ConfigMap, creating the namespace when it is missing (the namespace is
// never deleted: it holds the history). The caller leaves Schema, Sequence, Previous and SignedBy
// zero, and Stream zero or s.Name.
//
// Two applies may append at once: each creates the ConfigMap named for the next sequence number,
// and only one create of a name succeeds. The other re-reads the receipt that won, links to it,
// signs again and takes the number after it.
func Append(ctx context.Context, cs kubernetes.Interface, s Stream, r Receipt, opts AppendOptions) (*Record, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkUnplaced(r, s); err != nil {
		return nil, err
	}
	r.Stream = s.Name
	if r.Time.IsZero() {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		r.Time = now()
	}
	// Bad content or an unusable key fails here, before anything is sent to the cluster.
	if err := checkContent(r, opts.Signer); err != nil {
		return nil, fmt.Errorf("receipt for stream %s: %w", s, err)
	}
	head, err := s.head(ctx, cs)
	if err != nil {
		return nil, err
	}
	createdNamespace := false
	for range maxAppendAttempts {
		r.Sequence, r.Previous = head.sequence+1, head.digest
		rec, err := Seal(r, opts.Signer)
		if err != nil {
			return nil, err
		}
		_, err = cs.CoreV1().ConfigMaps(s.Namespace).Create(ctx, s.configMap(rec), metav1.CreateOptions{})
		switch {
		case err == nil:
			return rec, nil
		case apierrors.IsAlreadyExists(err):
			// Another apply took this number: the receipt it wrote is the new head.
			if head, err = s.headAt(ctx, cs, r.Sequence); err != nil {
				return nil, err
			}
		case apierrors.IsNotFound(err) && !createdNamespace:
			if err := ensureNamespace(ctx, cs, s.Namespace); err != nil {
				return nil, err
			}
			createdNamespace = true
		default:
			return nil, fmt.Errorf("creating receipt ConfigMap %s/%s: %w", s.Namespace, s.ObjectName(r.Sequence), err)
		}
	}
	return nil, fmt.Errorf("appending to receipt stream %s: other applies took the next sequence number %d times in a row; try again", s, maxAppendAttempts)
}

// checkUnplaced refuses a receipt that already claims a place: Append decides it.
func checkUnplaced(r Receipt, s Stream) error {
	switch {
	case r.Schema != "" && r.Schema != SchemaV1:
		return fmt.Errorf("schema is %q: leave it empty, Append writes %s", r.Schema, SchemaV1)
	case r.Stream != "" && r.Stream != s.Name:
		return fmt.Errorf("receipt says stream %q but is appended to stream %q", r.Stream, s.Name)
	case r.Sequence != 0 || r.Previous != "":
		return errors.New("sequence and previous are assigned by Append: leave them zero")
	case r.SignedBy != "":
		return errors.New("signedBy is assigned by Append from the operator key: leave it empty")
	}
	return nil
}

// checkContent validates r as the first receipt of its stream would be, and checks that the key
// is one a policy can verify, without signing anything: a signature may cost an HSM operation.
func checkContent(r Receipt, signer crypto.Signer) error {
	r.Schema, r.Sequence = SchemaV1, 1
	if _, err := r.Marshal(); err != nil {
		return err
	}
	if signer == nil {
		return nil
	}
	// The key's own parser decides which key types verify; a receipt signed with any other
	// could never be checked.
	pemKey, err := signing.EncodePublicKey(signer.Public())
	if err == nil {
		_, err = signing.ParsePublicKey(pemKey)
	}
	if err != nil {
		return fmt.Errorf("operator key: %w", err)
	}
	return nil
}

// link is the newest receipt as the next one refers to it.
type link struct {
	sequence uint64
	digest   string // "" before the first receipt
}

// head finds the stream's newest receipt by the sequence in its name, which is what decides the
// next name. Its document is hashed as stored, without judging it: List reports what is wrong
// with a history, and Append only continues it.
func (s Stream) head(ctx context.Context, cs kubernetes.Interface) (link, error) {
	objects, err := s.listObjects(ctx, cs)
	if err != nil {
		return link{}, err
	}
	var newest *corev1.ConfigMap
	var top uint64
	for i := range objects {
		if seq, ok := s.sequenceOf(objects[i].Name); ok && seq > top {
			newest, top = &objects[i], seq
		}
	}
	if newest == nil {
		return link{}, nil
	}
	return s.linkTo(newest, top)
}

// headAt reads the receipt with the given sequence number (one that another apply just wrote).
func (s Stream) headAt(ctx context.Context, cs kubernetes.Interface, seq uint64) (link, error) {
	name := s.ObjectName(seq)
	cm, err := cs.CoreV1().ConfigMaps(s.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return link{}, fmt.Errorf("reading receipt ConfigMap %s/%s: %w", s.Namespace, name, err)
	}
	return s.linkTo(cm, seq)
}

func (s Stream) linkTo(cm *corev1.ConfigMap, seq uint64) (link, error) {
	doc, ok := cm.Data[KeyDocument]
	if !ok {
		return link{}, fmt.Errorf("receipt ConfigMap %s/%s holds no %s: the stream %s is damaged and cannot be continued (read its history to see how)", s.Namespace, cm.Name, KeyDocument, s)
	}
	return link{sequence: seq, digest: Digest([]byte(doc))}, nil
}

// ensureNamespace creates the namespace unless it exists (or was created meanwhile).
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   namespace,
		Labels: map[string]string{LabelManagedBy: ManagedBy},
	}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s for the receipts: %w", namespace, err)
	}
	return nil
}
