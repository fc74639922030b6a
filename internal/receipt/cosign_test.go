package receipt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openairgap/terraform-provider-airgap/test/tools"
)

// An operator checks a receipt by hand with the cosign CLI (built by scripts/tools.sh), as the
// package documentation tells them to. cosign reaches for its TUF repository even when verifying
// with a key, so it runs in an empty network namespace: nothing it does can leave the machine.

type cosignCLI struct {
	bin string
	dir string
}

func newCosign(t *testing.T) cosignCLI {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("unshare (util-linux) is needed to run cosign without a network")
	}
	return cosignCLI{bin: tools.Path(t, "cosign"), dir: t.TempDir()}
}

// verifyBlob runs the command the documentation gives.
func (c cosignCLI) verifyBlob(pub, sig, blob string) (string, error) {
	cmd := exec.Command("unshare", "-n", c.bin, "verify-blob", "--key", pub, "--signature", sig,
		"--insecure-ignore-tlog=true", "--offline=true", blob)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "HOME="+c.dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkWithCosign verifies receipt.json and receipt.json.sig in dir with cosign, and shows that
// the same signature over an edited copy is refused.
func checkWithCosign(t *testing.T, c cosignCLI, op operatorKey, dir string) {
	t.Helper()
	pub := filepath.Join(dir, "operator.pub")
	writeTestFile(t, pub, op.pubPEM)
	doc, sig := filepath.Join(dir, "receipt.json"), filepath.Join(dir, "receipt.json.sig")
	if out, err := c.verifyBlob(pub, sig, doc); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob refused the receipt: %v\n%s", err, out)
	}
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.json")
	writeTestFile(t, edited, []byte(strings.Replace(string(data), "alice@example.org", "mallory@example.org", 1)))
	if out, err := c.verifyBlob(pub, sig, edited); err == nil {
		t.Fatalf("cosign accepted the signature over an edited receipt:\n%s", out)
	}
}

func TestCosignVerifiesAReceiptFile(t *testing.T) {
	c := newCosign(t)
	op := newOperatorKey(t, "operator")
	rec, err := Seal(placed(sampleReceipt(0)), op.signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(c.dir, "receipt.json"), rec); err != nil {
		t.Fatal(err)
	}
	checkWithCosign(t, c, op, c.dir)
}

// TestClusterCosignVerifiesAStoredReceipt extracts a receipt from its ConfigMap with kubectl, as
// the documentation shows, and verifies it with cosign.
func TestClusterCosignVerifiesAStoredReceipt(t *testing.T) {
	e := requireCluster(t)
	c := newCosign(t)
	s := Stream{Namespace: testNamespace(t, e.cs, "receipts"), Name: "prod"}
	op := newOperatorKey(t, "operator")
	rec := appendN(t, e.cs, s, 1, op)[0]
	for key, file := range map[string]string{KeyDocument: "receipt.json", KeySignature: "receipt.json.sig"} {
		path := `{.data.` + strings.ReplaceAll(key, ".", `\.`) + `}`
		out, err := exec.Command(e.c.KubectlPath(), "--kubeconfig", e.c.Kubeconfig(), "-n", s.Namespace,
			"get", "configmap", s.ObjectName(1), "-o", "jsonpath="+path).Output()
		if err != nil {
			t.Fatalf("kubectl get configmap -o jsonpath=%s: %v", path, err)
		}
		writeTestFile(t, filepath.Join(c.dir, file), out)
	}
	got, err := os.ReadFile(filepath.Join(c.dir, "receipt.json"))
	if err != nil || string(got) != string(rec.Document) {
		t.Fatalf("kubectl extracted a document that differs from the one signed (%v)", err)
	}
	checkWithCosign(t, c, op, c.dir)
}
