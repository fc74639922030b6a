package receipt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// SignatureStatus says what became of a receipt's signature.
type SignatureStatus string

const (
	SignatureVerified   SignatureStatus = "verified"    // accepted under the policy
	SignatureRejected   SignatureStatus = "rejected"    // present (or required) and not accepted; see Problems
	SignatureUnsigned   SignatureStatus = "unsigned"    // no signature, and the document says so
	SignatureNotChecked SignatureStatus = "not checked" // signed, but no policy was given
)

// ListOptions says how to judge a history.
type ListOptions struct {
	// Policy, when set, judges every receipt's signature; an unsigned receipt is then a problem.
	// Nil reads the history without judging signatures.
	Policy *signing.Policy
	// KnownHead is the Digest of the newest receipt the caller saw before (kept in Terraform state,
	// say). The chain cannot show that its newest receipts were deleted; this can.
	KnownHead string
}

// Entry is one receipt ConfigMap of a history, and what is wrong with it.
type Entry struct {
	Name     string  // the ConfigMap's name
	Sequence uint64  // from the name; 0 when the name is not a receipt name
	Record   *Record // nil when the ConfigMap holds no readable receipt
	// Signature and Signer say whose signature was accepted (Signer is set when Verified).
	Signature SignatureStatus
	Signer    *signing.Signer
	// Problems are sentences, each naming this receipt; none means the receipt is intact, linked
	// to the one before it, and (when a policy was given) signed by a trusted key.
	Problems []string
}

// OK says the entry has no problem.
func (e Entry) OK() bool { return len(e.Problems) == 0 }

// History is a stream's receipts in sequence order, each with its verification.
type History struct {
	Stream  Stream
	Entries []Entry
	// Problems concern the stream as a whole, such as a known newest receipt that is gone.
	Problems []string
}

// Err joins every problem of the history, or returns nil when there is none.
func (h *History) Err() error {
	var errs []error
	for _, e := range h.Entries {
		for _, p := range e.Problems {
			errs = append(errs, errors.New(p))
		}
	}
	for _, p := range h.Problems {
		errs = append(errs, errors.New(p))
	}
	return errors.Join(errs...)
}

// Head returns the newest readable receipt, or nil.
func (h *History) Head() *Record {
	for i := len(h.Entries) - 1; i >= 0; i-- {
		if h.Entries[i].Record != nil {
			return h.Entries[i].Record
		}
	}
	return nil
}

// List reads stream s and verifies it: each document parses and matches its stored digest, its
// name matches its stream and sequence, it links to the receipt before it (so a missing, reordered
// or edited receipt shows), and with a policy, its signature is a trusted key's. The error is for
// bad input and API failures only; what is wrong with the history is in it, receipt by receipt.
func List(ctx context.Context, cs kubernetes.Interface, s Stream, opts ListOptions) (*History, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if opts.Policy != nil {
		if err := opts.Policy.Validate(); err != nil {
			return nil, fmt.Errorf("receipt trust policy: %w", err)
		}
	}
	if opts.KnownHead != "" && !ociDigest.MatchString(opts.KnownHead) {
		return nil, fmt.Errorf("known head %q: want the digest of a receipt, sha256:<64 hex digits>", opts.KnownHead)
	}
	objects, err := s.listObjects(ctx, cs)
	if err != nil {
		return nil, err
	}
	return verify(s, objects, opts), nil
}

// verify judges a stream's objects, in any order.
func verify(s Stream, objects []corev1.ConfigMap, opts ListOptions) *History {
	h := &History{Stream: s}
	for i := range objects {
		h.Entries = append(h.Entries, s.entry(&objects[i], opts.Policy))
	}
	// Receipts in sequence order; objects with no receipt name last, by name.
	order := func(e Entry) uint64 {
		if e.Sequence == 0 {
			return math.MaxUint64
		}
		return e.Sequence
	}
	slices.SortFunc(h.Entries, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(order(a), order(b)), cmp.Compare(a.Name, b.Name))
	})
	checkChain(s, h.Entries)
	if opts.KnownHead != "" && !slices.ContainsFunc(h.Entries, func(e Entry) bool { return e.Record != nil && e.Record.Digest == opts.KnownHead }) {
		h.Problems = append(h.Problems, fmt.Sprintf("stream %s: the receipt with digest %s, known earlier as the newest, is gone: receipts were deleted or edited", s, opts.KnownHead))
	}
	return h
}

// entry checks one object on its own: name, document, digest, signature.
func (s Stream) entry(cm *corev1.ConfigMap, policy *signing.Policy) Entry {
	e := Entry{Name: cm.Name}
	where := fmt.Sprintf("receipt %s/%s", s.Namespace, cm.Name)
	seq, ok := s.sequenceOf(cm.Name)
	if !ok {
		e.Problems = append(e.Problems, fmt.Sprintf("%s is labelled as stream %q but is not named receipt-%s-<%d-digit sequence>", where, s.Name, s.Name, sequenceDigits))
	}
	e.Sequence = seq
	rec, err := recordOf(cm)
	if err != nil {
		e.Problems = append(e.Problems, fmt.Sprintf("%s is not a readable receipt: %v", where, err))
		e.Signature = SignatureRejected
		return e
	}
	e.Record = rec
	if rec.Receipt.Stream != s.Name || (ok && rec.Receipt.Sequence != seq) {
		e.Problems = append(e.Problems, fmt.Sprintf("%s holds receipt %d of stream %q: it was moved, renamed or reordered", where, rec.Receipt.Sequence, rec.Receipt.Stream))
	}
	if policy == nil {
		switch err := rec.checkSigned(); {
		case err == nil:
			e.Signature = SignatureNotChecked
		case errors.Is(err, ErrUnsigned):
			e.Signature = SignatureUnsigned
		default:
			e.Signature = SignatureRejected
			e.Problems = append(e.Problems, fmt.Sprintf("%s: %v", where, err))
		}
		return e
	}
	signer, err := rec.Verify(*policy)
	switch {
	case err == nil:
		e.Signature, e.Signer = SignatureVerified, &signer
	case errors.Is(err, ErrUnsigned):
		e.Signature = SignatureUnsigned
		e.Problems = append(e.Problems, fmt.Sprintf("%s is unsigned, and a trust policy for receipts is configured", where))
	default:
		e.Signature = SignatureRejected
		e.Problems = append(e.Problems, fmt.Sprintf("%s: signature rejected: %v", where, err))
	}
	return e
}

// checkChain walks the entries in sequence order and reports, on the later receipt, every
// missing sequence number and every link to a document that is not the one before it.
func checkChain(s Stream, entries []Entry) {
	var prev *Entry
	for i := range entries {
		e := &entries[i]
		if e.Sequence == 0 {
			continue
		}
		where := fmt.Sprintf("receipt %s/%s", s.Namespace, e.Name)
		var want uint64 = 1
		if prev != nil {
			want = prev.Sequence + 1
		}
		switch {
		case e.Sequence > want && prev == nil:
			e.Problems = append(e.Problems, fmt.Sprintf("%s is the oldest receipt found: %s missing, the chain breaks here", where, describeRange(want, e.Sequence-1)))
		case e.Sequence > want:
			e.Problems = append(e.Problems, fmt.Sprintf("%s follows %s: %s missing, the chain breaks here", where, prev.Name, describeRange(want, e.Sequence-1)))
		case prev == nil || e.Record == nil || e.Record.Receipt.Sequence != e.Sequence:
			// The first receipt links to nothing; an unreadable or misplaced one is reported already.
		case prev.Record == nil:
			e.Problems = append(e.Problems, fmt.Sprintf("%s cannot be linked: the receipt before it, %s, is unreadable", where, prev.Name))
		case e.Record.Receipt.Previous != prev.Record.Digest:
			e.Problems = append(e.Problems, fmt.Sprintf("%s links to a previous receipt with digest %s, but %s has digest %s: %s was edited or replaced after %s was written",
				where, e.Record.Receipt.Previous, prev.Name, prev.Record.Digest, prev.Name, e.Name))
		}
		prev = e
	}
}

func describeRange(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("receipt %d is", from)
	}
	return fmt.Sprintf("receipts %d to %d are", from, to)
}

// Summary is a one-line account of an entry, for logs and data sources.
func (e Entry) Summary() string {
	if e.OK() {
		if e.Signer != nil {
			return fmt.Sprintf("%s: intact, signed by %s (%s)", e.Name, e.Signer.Name, e.Signer.Fingerprint)
		}
		return fmt.Sprintf("%s: intact, %s", e.Name, e.Signature)
	}
	return strings.Join(e.Problems, "; ")
}
