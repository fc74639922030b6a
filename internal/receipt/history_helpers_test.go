package receipt

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// problems is every problem of a history by entry name ("" for the stream's own).
func problems(h *History) map[string][]string {
	out := map[string][]string{}
	for _, e := range h.Entries {
		if len(e.Problems) > 0 {
			out[e.Name] = e.Problems
		}
	}
	if len(h.Problems) > 0 {
		out[""] = h.Problems
	}
	return out
}

// wantProblems checks that exactly the named entries have problems, each containing its want
// fragments.
func wantProblems(t *testing.T, h *History, want map[string][]string) {
	t.Helper()
	got := problems(h)
	for name, frags := range want {
		joined := strings.Join(got[name], "\n")
		if joined == "" {
			t.Errorf("%s: no problem reported, want one containing %q", name, frags)
			continue
		}
		for _, f := range frags {
			if !strings.Contains(joined, f) {
				t.Errorf("%s: problems\n  %s\nlack %q", name, joined, f)
			}
		}
	}
	for name, ps := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected problems %q", name, ps)
		}
	}
}

// appendN appends n sample receipts to s and returns their records.
func appendN(t *testing.T, cs kubernetes.Interface, s Stream, n int, signer operatorKey) []*Record {
	t.Helper()
	var recs []*Record
	for i := range n {
		rec, err := Append(t.Context(), cs, s, sampleReceipt(i), AppendOptions{Signer: signer.signer})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func list(t *testing.T, cs kubernetes.Interface, s Stream, opts ListOptions) *History {
	t.Helper()
	h, err := List(t.Context(), cs, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func getCM(t *testing.T, cs kubernetes.Interface, s Stream, seq uint64) *corev1.ConfigMap {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(s.Namespace).Get(t.Context(), s.ObjectName(seq), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// replace deletes a receipt's ConfigMap and creates it again after edit, the only way to change
// an immutable one.
func replace(t *testing.T, cs kubernetes.Interface, s Stream, seq uint64, edit func(*corev1.ConfigMap)) {
	t.Helper()
	cm := getCM(t, cs, s, seq)
	if err := cs.CoreV1().ConfigMaps(s.Namespace).Delete(t.Context(), cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name, Namespace: cm.Namespace, Labels: cm.Labels}, Immutable: cm.Immutable, Data: cm.Data}
	edit(cm)
	if _, err := cs.CoreV1().ConfigMaps(s.Namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func deleteCM(t *testing.T, cs kubernetes.Interface, s Stream, seq uint64) {
	t.Helper()
	if err := cs.CoreV1().ConfigMaps(s.Namespace).Delete(t.Context(), s.ObjectName(seq), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
