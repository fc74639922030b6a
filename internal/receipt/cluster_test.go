package receipt

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// End-to-end tests against the project's test cluster (make cluster-up): a real API server with
// egress denied. They skip without a cluster unless AIRGAP_REQUIRE_CLUSTER=1.

// TestClusterReceipts keeps three signed receipts in a real cluster, reads them back verified,
// then tampers with them as someone with access to the namespace could, and checks that the
// history names each tampered receipt, and is clean again once the original is restored.
func TestClusterReceipts(t *testing.T) {
	e := requireCluster(t)
	s := Stream{Namespace: testNamespace(t, e.cs, "receipts"), Name: "prod"}
	op := newOperatorKey(t, "operator")
	trust := trusting(op)
	recs := appendN(t, e.cs, s, 3, op)
	name := s.ObjectName

	h := list(t, e.cs, s, ListOptions{Policy: trust, KnownHead: recs[2].Digest})
	if err := h.Err(); err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != 3 {
		t.Fatalf("%d entries, want 3", len(h.Entries))
	}
	for i, en := range h.Entries {
		if en.Name != name(uint64(i+1)) || en.Signature != SignatureVerified || en.Signer.Fingerprint != op.fp || en.Record.Digest != recs[i].Digest {
			t.Fatalf("entry %d: %+v", i, en)
		}
		t.Log(en.Summary())
	}
	clean := func(t *testing.T) {
		t.Helper()
		if err := list(t, e.cs, s, ListOptions{Policy: trust}).Err(); err != nil {
			t.Fatalf("the restored history is not clean: %v", err)
		}
	}

	t.Run("the API server refuses to edit a receipt", func(t *testing.T) {
		cm := getCM(t, e.cs, s, 2)
		original := maps.Clone(cm.Data)
		cm.Data[KeyDocument] = strings.Replace(cm.Data[KeyDocument], "alice@example.org", "mallory@example.org", 1)
		_, err := e.cs.CoreV1().ConfigMaps(s.Namespace).Update(t.Context(), cm, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "immutable") {
			t.Fatalf("editing an immutable receipt: got %v, want Invalid (field is immutable)", err)
		}
		// Nor can it be made mutable again.
		cm = getCM(t, e.cs, s, 2)
		mutable := false
		cm.Immutable = &mutable
		if _, err := e.cs.CoreV1().ConfigMaps(s.Namespace).Update(t.Context(), cm, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
			t.Fatalf("making a receipt mutable: got %v, want Invalid", err)
		}
		if got := getCM(t, e.cs, s, 2).Data; !maps.Equal(got, original) {
			t.Fatal("the receipt changed")
		}
	})

	t.Run("a receipt deleted and created again altered is named", func(t *testing.T) {
		original := getCM(t, e.cs, s, 2).Data
		replace(t, e.cs, s, 2, func(cm *corev1.ConfigMap) {
			doc := strings.Replace(cm.Data[KeyDocument], "alice@example.org", "mallory@example.org", 1)
			cm.Data = map[string]string{KeyDocument: doc, KeySignature: cm.Data[KeySignature], KeyDigest: Digest([]byte(doc))}
		})
		wantProblems(t, list(t, e.cs, s, ListOptions{Policy: trust}), map[string][]string{
			name(2): {"receipt " + s.Namespace + "/" + name(2) + ": signature rejected", "does not verify under trusted key operator"},
			name(3): {name(2) + " was edited or replaced after " + name(3) + " was written"},
		})
		replace(t, e.cs, s, 2, func(cm *corev1.ConfigMap) { cm.Data = original })
		clean(t)
	})

	t.Run("a deleted receipt breaks the chain", func(t *testing.T) {
		original := getCM(t, e.cs, s, 2)
		deleteCM(t, e.cs, s, 2)
		wantProblems(t, list(t, e.cs, s, ListOptions{Policy: trust}), map[string][]string{
			name(3): {"receipt " + s.Namespace + "/" + name(3) + " follows " + name(1) + ": receipt 2 is missing, the chain breaks here"},
		})
		restored := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: original.Name, Labels: original.Labels}, Immutable: original.Immutable, Data: original.Data}
		if _, err := e.cs.CoreV1().ConfigMaps(s.Namespace).Create(t.Context(), restored, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		clean(t)
	})

	t.Run("a receipt signed by an untrusted key is named", func(t *testing.T) {
		stranger := newOperatorKey(t, "stranger")
		rec, err := Append(t.Context(), e.cs, s, sampleReceipt(3), AppendOptions{Signer: stranger.signer})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Receipt.Sequence != 4 || rec.Receipt.Previous != recs[2].Digest {
			t.Fatalf("appended as receipt %d after %s", rec.Receipt.Sequence, rec.Receipt.Previous)
		}
		h := list(t, e.cs, s, ListOptions{Policy: trust})
		wantProblems(t, h, map[string][]string{
			name(4): {"receipt " + s.Namespace + "/" + name(4) + ": signature rejected: signature 1 (key " + stranger.fp + "): made by a key that is not trusted"},
		})
		if h.Entries[3].Signature != SignatureRejected || h.Entries[3].Signer != nil {
			t.Fatalf("entry 4: %+v", h.Entries[3])
		}
		// Trusting both keys, the whole history verifies, each receipt under its own key.
		both := list(t, e.cs, s, ListOptions{Policy: trusting(op, stranger)})
		if err := both.Err(); err != nil {
			t.Fatal(err)
		}
		if both.Entries[3].Signer.Name != "stranger" || both.Entries[0].Signer.Name != "operator" {
			t.Fatalf("signers %+v, %+v", both.Entries[0].Signer, both.Entries[3].Signer)
		}
	})
}

// TestClusterAppendAfterAnotherApplyWon has a second apply append, through its own client, just
// before the first one's create reaches the real API server: the API server refuses the first
// create, and the first apply must continue the chain after the second's receipt.
func TestClusterAppendAfterAnotherApplyWon(t *testing.T) {
	e := requireCluster(t)
	s := Stream{Namespace: testNamespace(t, e.cs, "receipts"), Name: "prod"}
	op := newOperatorKey(t, "operator")
	first := appendN(t, e.cs, s, 1, op)[0]

	var theirs *Record
	cfg := e.c.RESTConfig()
	counter := &conflictCounter{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		counter.next = &interposer{next: rt, before: func() {
			var err error
			if theirs, err = Append(t.Context(), e.cs, s, sampleReceipt(7), AppendOptions{Signer: op.signer}); err != nil {
				t.Errorf("the other apply: %v", err)
			}
		}}
		return counter
	}
	racing, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Append(t.Context(), racing, s, sampleReceipt(1), AppendOptions{Signer: op.signer})
	if err != nil {
		t.Fatal(err)
	}
	if theirs == nil || theirs.Receipt.Sequence != 2 || theirs.Receipt.Previous != first.Digest {
		t.Fatalf("the other apply wrote %+v", theirs)
	}
	if counter.n != 1 {
		t.Fatalf("the API server refused %d creates, want 1", counter.n)
	}
	if ours.Receipt.Sequence != 3 || ours.Receipt.Previous != theirs.Digest {
		t.Fatalf("ours is receipt %d after %s; want 3 after theirs (%s)", ours.Receipt.Sequence, ours.Receipt.Previous, theirs.Digest)
	}
	h := list(t, e.cs, s, ListOptions{Policy: trusting(op), KnownHead: ours.Digest})
	if err := h.Err(); err != nil || len(h.Entries) != 3 {
		t.Fatalf("%d entries: %v", len(h.Entries), err)
	}
}

// TestClusterConcurrentAppends runs several applies at once on one stream. However they
// interleave, the history must end as one unbroken chain holding every receipt once.
func TestClusterConcurrentAppends(t *testing.T) {
	e := requireCluster(t)
	s := Stream{Namespace: testNamespace(t, e.cs, "receipts"), Name: "prod"}
	op := newOperatorKey(t, "operator")
	const writers, each = 4, 3
	counter := &conflictCounter{}
	cfg := e.c.RESTConfig()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := map[string]bool{}
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				rec, err := Append(context.Background(), cs, s, sampleReceipt(w*each+i), AppendOptions{Signer: op.signer})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				written[rec.Digest] = true
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("the API server refused %d creates of a sequence number another apply had taken", counter.n)
	h := list(t, e.cs, s, ListOptions{Policy: trusting(op)})
	if err := h.Err(); err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != writers*each || len(written) != writers*each {
		t.Fatalf("%d entries, %d distinct receipts written; want %d", len(h.Entries), len(written), writers*each)
	}
	for _, en := range h.Entries {
		if !written[en.Record.Digest] {
			t.Errorf("%s is not a receipt any apply reports having written", en.Name)
		}
	}
}

// TestClusterAppendCreatesTheNamespace appends to a namespace that does not exist yet.
func TestClusterAppendCreatesTheNamespace(t *testing.T) {
	e := requireCluster(t)
	s := Stream{Namespace: randomName("receipts"), Name: "prod"}
	deleteNamespaceOnCleanup(t, e.cs, s.Namespace)
	if _, err := e.cs.CoreV1().Namespaces().Get(t.Context(), s.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s: %v, want NotFound", s.Namespace, err)
	}
	rec, err := Append(t.Context(), e.cs, s, sampleReceipt(0), AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := e.cs.CoreV1().Namespaces().Get(t.Context(), s.Namespace, metav1.GetOptions{})
	if err != nil || ns.Labels[LabelManagedBy] != ManagedBy {
		t.Fatalf("namespace %s: %v, labels %v", s.Namespace, err, ns.Labels)
	}
	h := list(t, e.cs, s, ListOptions{KnownHead: rec.Digest})
	if err := h.Err(); err != nil || len(h.Entries) != 1 || h.Entries[0].Signature != SignatureUnsigned {
		t.Fatalf("%+v: %v", h.Entries, err)
	}
}
