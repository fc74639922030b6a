package receipt

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

var prod = Stream{Namespace: "receipts", Name: "prod"}

func TestAppendAndList(t *testing.T) {
	op := newOperatorKey(t, "operator")
	cs := fake.NewClientset()
	recs := appendN(t, cs, prod, 3, op)

	for i, rec := range recs {
		seq := uint64(i + 1)
		if rec.Receipt.Sequence != seq || rec.Receipt.Stream != "prod" || rec.Receipt.SignedBy != op.fp {
			t.Errorf("receipt %d placed as %+v", seq, rec.Receipt)
		}
		if want := map[bool]string{true: "", false: recs[max(i-1, 0)].Digest}[i == 0]; rec.Receipt.Previous != want {
			t.Errorf("receipt %d: previous %q, want %q", seq, rec.Receipt.Previous, want)
		}
		cm := getCM(t, cs, prod, seq)
		if cm.Name != fmt.Sprintf("receipt-prod-%010d", seq) || cm.Immutable == nil || !*cm.Immutable {
			t.Errorf("ConfigMap %s immutable=%v", cm.Name, cm.Immutable)
		}
		if cm.Labels[LabelManagedBy] != ManagedBy || cm.Labels[LabelStream] != "prod" || cm.Labels[LabelSigned] != "true" {
			t.Errorf("ConfigMap %s labels %v", cm.Name, cm.Labels)
		}
		if cm.Data[KeyDocument] != string(rec.Document) || cm.Data[KeySignature] != rec.Signature.Sig || cm.Data[KeyDigest] != rec.Digest {
			t.Errorf("ConfigMap %s data %v", cm.Name, cm.Data)
		}
	}

	h := list(t, cs, prod, ListOptions{Policy: trusting(op), KnownHead: recs[2].Digest})
	if err := h.Err(); err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != 3 {
		t.Fatalf("%d entries, want 3", len(h.Entries))
	}
	for i, e := range h.Entries {
		if e.Sequence != uint64(i+1) || e.Signature != SignatureVerified || e.Signer.Fingerprint != op.fp || e.Record.Digest != recs[i].Digest {
			t.Errorf("entry %d: %+v", i, e)
		}
		t.Log(e.Summary())
	}
	if h.Head().Digest != recs[2].Digest {
		t.Error("Head is not the newest receipt")
	}

	// Without a policy, signatures are reported as not checked rather than passed.
	for _, e := range list(t, cs, prod, ListOptions{}).Entries {
		if e.Signature != SignatureNotChecked || e.Signer != nil || !e.OK() {
			t.Errorf("without a policy: %+v", e)
		}
	}
	// Another stream in the same namespace is separate.
	other := Stream{Namespace: prod.Namespace, Name: "prod-2"}
	appendN(t, cs, other, 1, op)
	if h := list(t, cs, other, ListOptions{Policy: trusting(op)}); len(h.Entries) != 1 || h.Err() != nil {
		t.Fatalf("stream prod-2: %d entries, %v", len(h.Entries), h.Err())
	}
	if h := list(t, cs, prod, ListOptions{Policy: trusting(op)}); len(h.Entries) != 3 || h.Err() != nil {
		t.Fatalf("stream prod after prod-2 was written: %d entries, %v", len(h.Entries), h.Err())
	}
}

func TestUnsignedReceipts(t *testing.T) {
	cs := fake.NewClientset()
	recs := appendN(t, cs, prod, 2, operatorKey{})
	if recs[1].Signature != nil || recs[1].Receipt.SignedBy != "" {
		t.Fatalf("a receipt appended without a key is signed: %+v", recs[1])
	}
	cm := getCM(t, cs, prod, 2)
	if _, ok := cm.Data[KeySignature]; ok || cm.Labels[LabelSigned] != "false" {
		t.Fatalf("unsigned ConfigMap: labels %v, data keys %v", cm.Labels, len(cm.Data))
	}
	h := list(t, cs, prod, ListOptions{})
	if err := h.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Entries {
		if e.Signature != SignatureUnsigned {
			t.Errorf("%s: %s, want unsigned", e.Name, e.Signature)
		}
	}
	// Once receipts must be signed, unsigned ones are problems.
	wantProblems(t, list(t, cs, prod, ListOptions{Policy: trusting(newOperatorKey(t, "operator"))}), map[string][]string{
		prod.ObjectName(1): {"receipt receipts/receipt-prod-0000000001 is unsigned, and a trust policy"},
		prod.ObjectName(2): {"receipt receipts/receipt-prod-0000000002 is unsigned"},
	})
}

// TestListReportsTampering edits a history of four signed receipts in each way an operator (or
// an intruder) could, and checks that List names the receipts concerned, and only those.
func TestListReportsTampering(t *testing.T) {
	op, stranger := newOperatorKey(t, "operator"), newOperatorKey(t, "stranger")
	name := prod.ObjectName
	setDoc := func(cm *corev1.ConfigMap, doc string) {
		cm.Data = map[string]string{KeyDocument: doc, KeySignature: cm.Data[KeySignature], KeyDigest: Digest([]byte(doc))}
	}
	alter := func(cm *corev1.ConfigMap) { // the same document with another operator, digest recomputed
		setDoc(cm, strings.Replace(cm.Data[KeyDocument], "alice@example.org", "mallory@example.org", 1))
	}
	tests := []struct {
		name   string
		policy bool // judge signatures, trusting op
		tamper func(t *testing.T, cs kubernetes.Interface, recs []*Record) ListOptions
		want   map[string][]string
	}{
		{"nothing changed", true, func(*testing.T, kubernetes.Interface, []*Record) ListOptions { return ListOptions{} }, nil},
		{"a document edited, its digest recomputed", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			replace(t, cs, prod, 2, alter)
			return ListOptions{}
		}, map[string][]string{
			name(3): {"receipt-prod-0000000003 links to a previous receipt with digest", "receipt-prod-0000000002 was edited or replaced"},
		}},
		{"a document edited, seen with the policy", true, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			replace(t, cs, prod, 2, alter)
			return ListOptions{}
		}, map[string][]string{
			name(2): {"receipt receipts/receipt-prod-0000000002: signature rejected: signature 1 (key " + op.fp + "): does not verify under trusted key operator"},
			name(3): {"receipt-prod-0000000002 was edited or replaced"},
		}},
		{"a document edited, digest left", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			replace(t, cs, prod, 2, func(cm *corev1.ConfigMap) {
				cm.Data[KeyDocument] = strings.Replace(cm.Data[KeyDocument], "alice@example.org", "mallory@example.org", 1)
			})
			return ListOptions{}
		}, map[string][]string{
			name(2): {"receipt-prod-0000000002 is not a readable receipt: its receipt.json.sha256 is sha256:", "the document was edited"},
			name(3): {"receipt-prod-0000000003 cannot be linked: the receipt before it, receipt-prod-0000000002, is unreadable"},
		}},
		{"the newest receipt edited", false, func(t *testing.T, cs kubernetes.Interface, recs []*Record) ListOptions {
			replace(t, cs, prod, 4, alter)
			return ListOptions{KnownHead: recs[3].Digest} // no later receipt links to it: only the known head shows it
		}, map[string][]string{
			"": {"stream receipts/prod: the receipt with digest sha256:", "known earlier as the newest, is gone"},
		}},
		{"a middle receipt deleted", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			deleteCM(t, cs, prod, 2)
			return ListOptions{}
		}, map[string][]string{
			name(3): {"receipt receipts/receipt-prod-0000000003 follows receipt-prod-0000000001: receipt 2 is missing, the chain breaks here"},
		}},
		{"the first two receipts deleted", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			deleteCM(t, cs, prod, 1)
			deleteCM(t, cs, prod, 2)
			return ListOptions{}
		}, map[string][]string{
			name(3): {"receipt-prod-0000000003 is the oldest receipt found: receipts 1 to 2 are missing"},
		}},
		{"the newest receipt deleted", false, func(t *testing.T, cs kubernetes.Interface, recs []*Record) ListOptions {
			deleteCM(t, cs, prod, 4)
			return ListOptions{KnownHead: recs[3].Digest}
		}, map[string][]string{
			"": {"stream receipts/prod: the receipt with digest sha256:", "is gone: receipts were deleted or edited"},
		}},
		{"two receipts swapped", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			two, three := getCM(t, cs, prod, 2).Data, getCM(t, cs, prod, 3).Data
			replace(t, cs, prod, 2, func(cm *corev1.ConfigMap) { cm.Data = three })
			replace(t, cs, prod, 3, func(cm *corev1.ConfigMap) { cm.Data = two })
			return ListOptions{}
		}, map[string][]string{
			name(2): {"receipt receipts/receipt-prod-0000000002 holds receipt 3 of stream \"prod\": it was moved, renamed or reordered"},
			name(3): {"receipt receipts/receipt-prod-0000000003 holds receipt 2 of stream \"prod\""},
			name(4): {"receipt-prod-0000000003 was edited or replaced after receipt-prod-0000000004 was written"},
		}},
		{"a signature removed", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			replace(t, cs, prod, 2, func(cm *corev1.ConfigMap) { delete(cm.Data, KeySignature) })
			return ListOptions{}
		}, map[string][]string{
			name(2): {"receipt-prod-0000000002: the document says key " + op.fp + " signed it, but the signature is missing"},
		}},
		{"a receipt signed by a key the policy does not trust", true, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			if _, err := Append(t.Context(), cs, prod, sampleReceipt(9), AppendOptions{Signer: stranger.signer}); err != nil {
				t.Fatal(err)
			}
			return ListOptions{}
		}, map[string][]string{
			name(5): {"receipt-prod-0000000005: signature rejected: signature 1 (key " + stranger.fp + "): made by a key that is not trusted"},
		}},
		{"an object labelled into the stream under another name", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			cm := getCM(t, cs, prod, 2)
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "receipt-prod-2", Namespace: prod.Namespace, Labels: cm.Labels}, Data: cm.Data}
			if _, err := cs.CoreV1().ConfigMaps(prod.Namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return ListOptions{}
		}, map[string][]string{
			"receipt-prod-2": {`receipt receipts/receipt-prod-2 is labelled as stream "prod" but is not named receipt-prod-<10-digit sequence>`},
		}},
		{"a receipt of another stream relabelled into this one", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			other := Stream{Namespace: prod.Namespace, Name: "test"}
			appendN(t, cs, other, 1, op)
			cm := getCM(t, cs, other, 1)
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name(5), Namespace: prod.Namespace, Labels: map[string]string{LabelManagedBy: ManagedBy, LabelStream: "prod"}}, Data: cm.Data}
			if _, err := cs.CoreV1().ConfigMaps(prod.Namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return ListOptions{}
		}, map[string][]string{
			name(5): {`receipt-prod-0000000005 holds receipt 1 of stream "test"`},
		}},
		{"a ConfigMap with no receipt", false, func(t *testing.T, cs kubernetes.Interface, _ []*Record) ListOptions {
			replace(t, cs, prod, 4, func(cm *corev1.ConfigMap) { cm.Data = map[string]string{"x": "y"} })
			return ListOptions{}
		}, map[string][]string{
			name(4): {"receipt-prod-0000000004 is not a readable receipt: it holds no receipt.json"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			recs := appendN(t, cs, prod, 4, op)
			opts := tt.tamper(t, cs, recs)
			if tt.policy {
				opts.Policy = trusting(op)
			}
			h := list(t, cs, prod, opts)
			wantProblems(t, h, tt.want)
			if (h.Err() == nil) != (len(tt.want) == 0) {
				t.Errorf("Err() = %v with %d problems expected", h.Err(), len(tt.want))
			}
		})
	}
}

// TestAppendAfterAnotherApplyWon has another apply write receipt 2 between our reading of the
// head and our create: ours must become receipt 3, link to theirs, and be signed as such.
func TestAppendAfterAnotherApplyWon(t *testing.T) {
	op := newOperatorKey(t, "operator")
	cs := fake.NewClientset()
	first := appendN(t, cs, prod, 1, op)[0]
	var theirs *Record
	cs.PrependReactor("create", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if theirs != nil {
			return false, nil, nil
		}
		// The fake client is locked while a reactor runs: the other apply writes to its tracker.
		r := sampleReceipt(7)
		r.Stream, r.Sequence, r.Previous = prod.Name, 2, first.Digest
		var err error
		if theirs, err = Seal(r, op.signer); err != nil {
			return true, nil, err
		}
		return false, nil, cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("configmaps"), prod.configMap(theirs), prod.Namespace)
	})
	ours, err := Append(t.Context(), cs, prod, sampleReceipt(1), AppendOptions{Signer: op.signer})
	if err != nil {
		t.Fatal(err)
	}
	if theirs == nil {
		t.Fatal("the other apply did not run")
	}
	if ours.Receipt.Sequence != 3 || ours.Receipt.Previous != theirs.Digest {
		t.Fatalf("ours is receipt %d linked to %s; want 3 linked to theirs, %s", ours.Receipt.Sequence, ours.Receipt.Previous, theirs.Digest)
	}
	h := list(t, cs, prod, ListOptions{Policy: trusting(op)})
	if err := h.Err(); err != nil || len(h.Entries) != 3 {
		t.Fatalf("%d entries: %v", len(h.Entries), err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	op := newOperatorKey(t, "operator")
	cs := fake.NewClientset()
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := Append(context.Background(), cs, prod, sampleReceipt(w*each+i), AppendOptions{Signer: op.signer}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h := list(t, cs, prod, ListOptions{Policy: trusting(op)})
	if err := h.Err(); err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != writers*each || h.Head().Receipt.Sequence != writers*each {
		t.Fatalf("%d entries, head %d; want %d", len(h.Entries), h.Head().Receipt.Sequence, writers*each)
	}
}

func TestAppendRefusesBadInputBeforeContactingTheCluster(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stream Stream
		edit   func(*Receipt)
		want   string
		signer crypto.Signer
	}{
		{"namespace", Stream{Namespace: "Receipts", Name: "prod"}, nil, `receipt namespace "Receipts"`, nil},
		{"stream", Stream{Namespace: "receipts", Name: "prod.eu"}, nil, `receipt stream "prod.eu"`, nil},
		{"sequence set", prod, func(r *Receipt) { r.Sequence = 4 }, "assigned by Append", nil},
		{"another stream", prod, func(r *Receipt) { r.Stream = "test" }, `receipt says stream "test"`, nil},
		{"signedBy set", prod, func(r *Receipt) { r.SignedBy = digestOf("k") }, "signedBy is assigned", nil},
		{"bad content", prod, func(r *Receipt) { r.Images[0].Deployed = "reg/x:latest" }, `receipt for stream receipts/prod: images[1]: deployed "reg/x:latest"`, nil},
		{"a key no policy can verify", prod, nil, "receipt for stream receipts/prod: operator key: key type *rsa.PublicKey is not supported", rsaKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			r := sampleReceipt(0)
			if tt.edit != nil {
				tt.edit(&r)
			}
			_, err := Append(t.Context(), cs, tt.stream, r, AppendOptions{Signer: tt.signer})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if n := len(cs.Actions()); n != 0 {
				t.Fatalf("%d requests reached the cluster", n)
			}
		})
	}
}

func TestAppendRefusesToContinueAHeadWithNoDocument(t *testing.T) {
	cs := fake.NewClientset()
	appendN(t, cs, prod, 2, operatorKey{})
	replace(t, cs, prod, 2, func(cm *corev1.ConfigMap) { cm.Data = map[string]string{} })
	_, err := Append(t.Context(), cs, prod, sampleReceipt(3), AppendOptions{})
	if err == nil || !strings.Contains(err.Error(), "receipt ConfigMap receipts/receipt-prod-0000000002 holds no receipt.json") {
		t.Fatalf("got %v", err)
	}
}

func TestListRefusesBadOptions(t *testing.T) {
	cs := fake.NewClientset()
	for _, tt := range []struct {
		opts ListOptions
		want string
	}{
		{ListOptions{Policy: &signing.Policy{}}, "receipt trust policy: no trusted key"},
		{ListOptions{KnownHead: "abc"}, `known head "abc"`},
	} {
		if _, err := List(t.Context(), cs, prod, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want an error containing %q", err, tt.want)
		}
	}
}

func TestAppendStampsTheTime(t *testing.T) {
	cs := fake.NewClientset()
	r := sampleReceipt(0)
	r.Time = time.Time{}
	clock := time.Date(2026, 5, 1, 12, 30, 15, 123456789, time.FixedZone("CEST", 2*3600))
	rec, err := Append(t.Context(), cs, prod, r, AppendOptions{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 1, 10, 30, 15, 0, time.UTC); rec.Receipt.Time != want {
		t.Fatalf("time %v, want %v", rec.Receipt.Time, want)
	}
	if !strings.Contains(string(rec.Document), `"time":"2026-05-01T10:30:15Z"`) {
		t.Fatalf("document %s", rec.Document)
	}
}
