package receipt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// quickKey is a bare ECDSA key: every fuzz worker makes its own at start, and a cosign-encrypted
// key's scrypt, slowed further by the fuzzer's instrumentation, would stall the workers.
func quickKey(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzParse: no input may panic the parser, and whatever it accepts is the canonical encoding of
// a valid receipt.
func FuzzParse(f *testing.F) {
	signed, err := Seal(placed(sampleReceipt(0)), quickKey(f))
	if err != nil {
		f.Fatal(err)
	}
	doc, err := small().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed.Document)
	f.Add(doc)
	f.Add([]byte(`{"schema":"openairgap.dev/receipt/v1","stream":"a","sequence":1,"previous":"","time":"2026-01-01T00:00:00Z","action":"delete","bundles":[],"images":[],"releases":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an invalid receipt: %v", err)
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted a document that is not canonical: %v\n%q\n%q", err, data, again)
		}
	})
}

// FuzzReadConfigMap: whatever a ConfigMap labelled as a receipt holds, List reports it, never
// panics.
func FuzzReadConfigMap(f *testing.F) {
	signed, err := Seal(placed(sampleReceipt(0)), quickKey(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("receipt-prod-0000000001", string(signed.Document), signed.Signature.Sig, signed.Digest)
	f.Add("receipt-prod-1", "{}", "", "")
	f.Add("receipt-prod-18446744073709551616", string(signed.Document), "!!", signed.Digest)
	s := Stream{Namespace: "receipts", Name: "prod"}
	other := quickKey(f)
	policy := &signing.Policy{Keys: []signing.TrustedKey{{Name: "other", Key: other.Public()}}}
	f.Fuzz(func(t *testing.T, name, doc, sig, digest string) {
		cm := corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Data:       map[string]string{KeyDocument: doc, KeySignature: sig, KeyDigest: digest},
		}
		for _, opts := range []ListOptions{{}, {Policy: policy}} {
			h := verify(s, []corev1.ConfigMap{cm, cm}, opts)
			for _, e := range h.Entries {
				if e.Record == nil && e.OK() {
					t.Fatalf("an unreadable receipt is reported intact: %+v", e)
				}
			}
		}
	})
}
