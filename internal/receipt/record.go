package receipt

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// Record is a receipt as it is kept: the exact document bytes, what they say, their digest, and
// the operator's signature over them.
type Record struct {
	Receipt  Receipt
	Document []byte // the canonical JSON; the signature and the next receipt's Previous cover these bytes
	Digest   string // Digest(Document)
	// Signature is nil for an unsigned receipt. Its Sig is what `cosign sign-blob` prints for the
	// document, and its KeyID is Receipt.SignedBy.
	Signature *signing.Signature
}

// Seal makes the record of a receipt whose place in the stream (Stream, Sequence, Previous) is
// set: it stamps SignedBy with the key's fingerprint, encodes the document and signs it. A nil
// signer makes an unsigned record.
func Seal(r Receipt, signer crypto.Signer) (*Record, error) {
	r.Schema = SchemaV1
	r.SignedBy = ""
	if signer != nil {
		fp, err := signing.Fingerprint(signer.Public())
		if err != nil {
			return nil, fmt.Errorf("operator key: %w", err)
		}
		r.SignedBy = fp
	}
	r = r.Canonical()
	doc, err := r.Marshal()
	if err != nil {
		return nil, fmt.Errorf("receipt %d of stream %q: %w", r.Sequence, r.Stream, err)
	}
	if len(doc) > MaxDocumentSize {
		return nil, fmt.Errorf("receipt %d of stream %q is %d bytes, more than the %d-byte limit: record fewer images or releases per apply", r.Sequence, r.Stream, len(doc), MaxDocumentSize)
	}
	rec := &Record{Receipt: r, Document: doc, Digest: Digest(doc)}
	if signer != nil {
		sig, err := signing.Sign(signer, doc)
		if err != nil {
			return nil, fmt.Errorf("signing receipt %d of stream %q: %w", r.Sequence, r.Stream, err)
		}
		rec.Signature = &sig
	}
	return rec, nil
}

// open rebuilds a record from stored bytes: the document and the base64 signature ("" when
// unsigned). The signature is not judged here; see Verify.
func open(document []byte, sig string) (*Record, error) {
	r, err := Parse(document)
	if err != nil {
		return nil, err
	}
	rec := &Record{Receipt: *r, Document: document, Digest: Digest(document)}
	if sig != "" {
		if _, err := signing.DecodeSig(sig); err != nil {
			return nil, fmt.Errorf("receipt signature: %w", err)
		}
		rec.Signature = &signing.Signature{KeyID: r.SignedBy, Sig: sig}
	}
	return rec, nil
}

// ErrUnsigned says a receipt carries no signature.
var ErrUnsigned = errors.New("the receipt is unsigned")

// Verify checks the record's signature under policy and returns the accepted signer. Key validity
// windows are judged at the receipt's own time: a receipt signed while its key was trusted stays
// verified after the key is retired. The document names its key (SignedBy), so a signature that
// was removed, or added to an unsigned document, is refused too.
func (rec *Record) Verify(policy signing.Policy) (signing.Signer, error) {
	if err := rec.checkSigned(); err != nil {
		return signing.Signer{}, err
	}
	at := rec.Receipt.Time
	policy.Now = func() time.Time { return at }
	signers, err := policy.Verify(rec.Document, []signing.Signature{*rec.Signature})
	if err != nil {
		var rejected *signing.RejectedError
		if errors.As(err, &rejected) && len(rejected.Reasons) == 1 {
			// One signature, one reason; the policy's summary speaks of bundles.
			return signing.Signer{}, errors.New(rejected.Reasons[0])
		}
		return signing.Signer{}, err
	}
	if len(signers) != 1 || signers[0].Fingerprint != rec.Receipt.SignedBy {
		return signing.Signer{}, fmt.Errorf("the signature verifies under key %s, but the document names key %s", signers[0].Fingerprint, rec.Receipt.SignedBy)
	}
	return signers[0], nil
}

// checkSigned says whether the record carries a signature exactly when its document names a key:
// nil when both, ErrUnsigned when neither, and why not otherwise. It judges no key.
func (rec *Record) checkSigned() error {
	switch {
	case rec.Signature == nil && rec.Receipt.SignedBy == "":
		return ErrUnsigned
	case rec.Signature == nil:
		return fmt.Errorf("the document says key %s signed it, but the signature is missing: it was removed", rec.Receipt.SignedBy)
	case rec.Receipt.SignedBy == "":
		return errors.New("a signature is attached to a document that says it is unsigned")
	}
	return nil
}
