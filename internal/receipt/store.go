package receipt

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels on every receipt ConfigMap. They select a stream's receipts; being mutable, they are
// never trusted: what a receipt says is in its data, which is immutable.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-airgap"
	LabelStream    = "airgap.openairgap.dev/receipt-stream"
	// LabelSigned is "true" or "false", for `kubectl get -l`; verification ignores it.
	LabelSigned = "airgap.openairgap.dev/receipt-signed"
)

// Data keys of a receipt ConfigMap, named like the files WriteFile writes so that the same
// `cosign verify-blob` command serves both.
const (
	KeyDocument  = "receipt.json"        // the document, exactly the signed bytes
	KeySignature = "receipt.json.sig"    // the signature as `cosign sign-blob` prints it; absent when unsigned
	KeyDigest    = "receipt.json.sha256" // Digest of the document, for a reader without the next receipt
)

// sequenceDigits pads sequence numbers in names so that names sort in sequence order.
const sequenceDigits = 10

// Stream is a history of receipts kept in one namespace; several streams may share it.
type Stream struct {
	Namespace string
	Name      string // a DNS label: it is part of every receipt's ConfigMap name and a label value
}

// Validate checks the stream's namespace and name.
func (s Stream) Validate() error {
	if errs := validation.ValidateNamespaceName(s.Namespace, false); len(errs) > 0 {
		return fmt.Errorf("receipt namespace %q: %s", s.Namespace, errs[0])
	}
	if err := validateStreamName(s.Name); err != nil {
		return fmt.Errorf("receipt %w", err)
	}
	return nil
}

func (s Stream) String() string { return s.Namespace + "/" + s.Name }

// ObjectName is the name of the ConfigMap holding receipt sequence of the stream:
// receipt-<stream>-<sequence, zero-padded to 10 digits>. The name is also the lock that makes
// concurrent appends safe: only one create of a name can succeed.
func (s Stream) ObjectName(sequence uint64) string {
	return fmt.Sprintf("receipt-%s-%0*d", s.Name, sequenceDigits, sequence)
}

// sequenceOf reads the sequence back from a ConfigMap name of this stream; ok is false for a name
// ObjectName would not produce.
func (s Stream) sequenceOf(objectName string) (seq uint64, ok bool) {
	digits, found := strings.CutPrefix(objectName, "receipt-"+s.Name+"-")
	if !found {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || seq == 0 || s.ObjectName(seq) != objectName {
		return 0, false
	}
	return seq, true
}

func (s Stream) selector() string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelStream + "=" + s.Name
}

// configMap is the immutable object that keeps rec.
func (s Stream) configMap(rec *Record) *corev1.ConfigMap {
	immutable := true
	data := map[string]string{KeyDocument: string(rec.Document), KeyDigest: rec.Digest}
	signed := "false"
	if rec.Signature != nil {
		data[KeySignature] = rec.Signature.Sig
		signed = "true"
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      s.ObjectName(rec.Receipt.Sequence),
			Namespace: s.Namespace,
			Labels:    map[string]string{LabelManagedBy: ManagedBy, LabelStream: s.Name, LabelSigned: signed},
		},
		Immutable: &immutable,
		Data:      data,
	}
}

// recordOf reads the record a ConfigMap holds, checking only the object itself: the document
// parses, and matches the digest stored beside it.
func recordOf(cm *corev1.ConfigMap) (*Record, error) {
	doc, ok := cm.Data[KeyDocument]
	if !ok {
		return nil, fmt.Errorf("it holds no %s", KeyDocument)
	}
	rec, err := open([]byte(doc), cm.Data[KeySignature])
	if err != nil {
		return nil, err
	}
	if d := cm.Data[KeyDigest]; d != rec.Digest {
		return nil, fmt.Errorf("its %s is %s but the document's digest is %s: the document was edited", KeyDigest, d, rec.Digest)
	}
	return rec, nil
}

// listObjects returns every ConfigMap labelled as a receipt of the stream, page by page.
func (s Stream) listObjects(ctx context.Context, cs kubernetes.Interface) ([]corev1.ConfigMap, error) {
	var out []corev1.ConfigMap
	opts := metav1.ListOptions{LabelSelector: s.selector(), Limit: 250}
	for {
		l, err := cs.CoreV1().ConfigMaps(s.Namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the receipts of stream %s: %w", s, err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}
