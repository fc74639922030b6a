package receipt

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

func placed(r Receipt) Receipt {
	r.Stream, r.Sequence = "prod", 1
	return r
}

func TestSealAndVerify(t *testing.T) {
	op, stranger := newOperatorKey(t, "operator"), newOperatorKey(t, "stranger")
	rec, err := Seal(placed(sampleReceipt(0)), op.signer)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Receipt.SignedBy != op.fp || rec.Signature == nil || rec.Signature.KeyID != op.fp || rec.Digest != Digest(rec.Document) {
		t.Fatalf("sealed record %+v", rec)
	}
	signer, err := rec.Verify(*trusting(op))
	if err != nil {
		t.Fatal(err)
	}
	if signer.Name != "operator" || signer.Fingerprint != op.fp {
		t.Fatalf("signer %+v", signer)
	}

	reject := func(t *testing.T, rec *Record, policy *signing.Policy, want string) {
		t.Helper()
		_, err := rec.Verify(*policy)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error containing %q", err, want)
		}
	}
	t.Run("untrusted key", func(t *testing.T) {
		reject(t, rec, trusting(stranger), "made by a key that is not trusted")
	})
	t.Run("edited document", func(t *testing.T) {
		edited := *rec
		edited.Document = []byte(strings.Replace(string(rec.Document), "alice", "mallory", 1))
		reject(t, &edited, trusting(op), "does not verify under trusted key operator")
	})
	t.Run("signature removed", func(t *testing.T) {
		stripped := *rec
		stripped.Signature = nil
		reject(t, &stripped, trusting(op), "says key "+op.fp+" signed it, but the signature is missing")
	})
	t.Run("unsigned", func(t *testing.T) {
		unsigned, err := Seal(placed(sampleReceipt(0)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if unsigned.Signature != nil || unsigned.Receipt.SignedBy != "" {
			t.Fatalf("unsigned record %+v", unsigned)
		}
		if _, err := unsigned.Verify(*trusting(op)); !errors.Is(err, ErrUnsigned) {
			t.Fatalf("got %v, want ErrUnsigned", err)
		}
		// A signature over the unsigned document, attached afterwards, is refused: the document
		// does not name the key.
		sig, err := signing.Sign(op.signer, unsigned.Document)
		if err != nil {
			t.Fatal(err)
		}
		unsigned.Signature = &sig
		reject(t, unsigned, trusting(op), "attached to a document that says it is unsigned")
	})
	t.Run("key windows are judged at the receipt's time", func(t *testing.T) {
		retired := trusting(op)
		retired.Keys[0].NotAfter = recorded.Add(time.Hour) // retired since, but valid then
		retired.Now = func() time.Time { return recorded.Add(1000 * time.Hour) }
		if _, err := rec.Verify(*retired); err != nil {
			t.Fatalf("a receipt signed while its key was trusted is refused after the key's retirement: %v", err)
		}
		later := trusting(op)
		later.Keys[0].NotBefore = recorded.Add(time.Hour) // trusted only from later on
		reject(t, rec, later, "is not valid before")
	})
	t.Run("a policy with no key is an error, not a pass", func(t *testing.T) {
		reject(t, rec, &signing.Policy{}, "no trusted key or root")
	})
}

func TestSealRefusesPlacedFieldsItCannotTrust(t *testing.T) {
	op := newOperatorKey(t, "operator")
	r := placed(sampleReceipt(0))
	r.SignedBy = digestOf("someone else")
	rec, err := Seal(r, op.signer)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Receipt.SignedBy != op.fp {
		t.Fatalf("SignedBy %s, want the key's fingerprint %s", rec.Receipt.SignedBy, op.fp)
	}
	unsigned, err := Seal(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if unsigned.Receipt.SignedBy != "" {
		t.Fatalf("an unsigned receipt names key %s", unsigned.Receipt.SignedBy)
	}
}
