package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/test/cluster"
)

// TestClusterAccReceipts records two signed receipts through recordDeployment, the hook the
// workload resources call, against the test cluster; reads them back verified with the
// airgap_receipts data source under terraform; then replaces one receipt altered, as someone
// with access to the namespace could, and deletes the newest: the data source reports each,
// naming the receipt, and never fails the read.
func TestClusterAccReceipts(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests need TF_ACC=1")
	}
	c := cluster.Require(t)
	c.GuardEgress(t) // the egress lock, and a failure if any packet tried to leave the machine
	cs := c.Clientset()
	ns := "airgap-receipts-" + randomSuffix()
	t.Cleanup(func() { deleteReceiptNamespace(t, cs, ns) }) // recordDeployment creates it

	e := &env{t: t, dir: t.TempDir()}
	priv, pub := e.key("operator")
	privPEM, err := os.ReadFile(priv)
	must(t, err)
	files := filepath.Join(e.dir, "receipts")
	settings, diags := receiptSettingsFrom(&receiptsModel{
		Namespace: types.StringValue(ns), Stream: types.StringValue("acc"), Operator: types.StringValue("alice@example.org"),
		SigningKey: &receiptSigningKeyModel{PrivateKey: types.StringValue(string(privPEM)), Password: types.StringValue("pw")},
		Directory:  types.StringValue(files),
	})
	if diags.HasError() {
		t.Fatal(diags)
	}
	d := &providerData{receipts: settings, config: providerModel{Kubernetes: &kubernetesModel{Kubeconfig: types.StringValue(c.Kubeconfig())}}}
	var digests []string
	for n := 1; n <= 2; n++ {
		digest, err := d.recordDeployment(t.Context(), sampleDeployment(n))
		must(t, err)
		digests = append(digests, digest)
		if _, err := os.Stat(filepath.Join(files, settings.stream.ObjectName(uint64(n))+".json.sig")); err != nil {
			t.Fatalf("receipt %d was not written to the directory: %v", n, err)
		}
	}
	name := func(seq uint64) string { return settings.stream.ObjectName(seq) }
	t.Logf("recorded %s (%s) and %s (%s) in namespace %s", name(1), digests[0], name(2), digests[1], ns)

	config := fmt.Sprintf(`
provider "airgap" {
  kubernetes = { kubeconfig = %s }
  receipts   = { namespace = %q, stream = "acc" }
}

data "airgap_receipts" "trusted" {
  trusted_keys = [{ name = "operator", public_key = file(%s) }]
  known_head   = %q
}

data "airgap_receipts" "unchecked" {}
`, hcl(c.Kubeconfig()), ns, hcl(pub), digests[1])
	trusted := func(p tfjsonpath.Path, v knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.airgap_receipts.trusted", p, v)
	}
	unchecked := func(p tfjsonpath.Path, v knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.airgap_receipts.unchecked", p, v)
	}
	entry := func(i int, field string) tfjsonpath.Path {
		return tfjsonpath.New("receipts").AtSliceIndex(i).AtMapKey(field)
	}
	problem := func(parts ...string) knownvalue.Check {
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		return knownvalue.StringRegexp(regexp.MustCompile(strings.Join(parts, ".*")))
	}
	release := func(n int) string {
		return fmt.Sprintf("chart shop/web revision %d chart 1.2.0 %s", n, receipt.Digest([]byte{byte(n)}))
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				// Intact: both verified under the operator's key, the head is what was kept.
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					trusted(tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
					trusted(tfjsonpath.New("head"), knownvalue.StringExact(digests[1])),
					trusted(tfjsonpath.New("verified"), knownvalue.Bool(true)),
					trusted(tfjsonpath.New("problems"), knownvalue.ListSizeExact(0)),
					trusted(tfjsonpath.New("receipts"), knownvalue.ListSizeExact(2)),
					trusted(entry(0, "name"), knownvalue.StringExact(name(1))),
					trusted(entry(0, "sequence"), knownvalue.Int64Exact(1)),
					trusted(entry(0, "digest"), knownvalue.StringExact(digests[0])),
					trusted(entry(0, "signature"), knownvalue.StringExact("verified")),
					trusted(entry(0, "signer"), knownvalue.StringExact("operator")),
					trusted(entry(0, "signed_by"), knownvalue.StringExact(settings.fingerprint)),
					trusted(entry(0, "operator"), knownvalue.StringExact("alice@example.org")),
					trusted(entry(0, "action"), knownvalue.StringExact("upgrade")),
					trusted(entry(0, "resource"), knownvalue.StringExact("airgap_chart.web")),
					trusted(entry(0, "bom_digests"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(receipt.Digest([]byte("bom")))})),
					trusted(entry(0, "images"), knownvalue.MapExact(map[string]knownvalue.Check{
						"ghcr.io/example/web:1.2.0": knownvalue.StringExact("127.0.0.1:31999/example/web@" + receipt.Digest([]byte("web"))),
					})),
					trusted(entry(0, "releases"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(release(1))})),
					trusted(entry(0, "problems"), knownvalue.ListSizeExact(0)),
					trusted(entry(1, "digest"), knownvalue.StringExact(digests[1])),
					trusted(entry(1, "signature"), knownvalue.StringExact("verified")),
					trusted(entry(1, "releases"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(release(2))})),
					// Without keys the stream comes from the provider's block, and signatures are not judged.
					unchecked(tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
					unchecked(tfjsonpath.New("stream"), knownvalue.StringExact("acc")),
					unchecked(tfjsonpath.New("verified"), knownvalue.Bool(true)),
					unchecked(entry(1, "signature"), knownvalue.StringExact("not checked")),
					unchecked(entry(1, "signer"), knownvalue.StringExact("")),
				},
			},
			{
				// Receipt 1 deleted and created again naming another operator, its stored digest
				// recomputed to match: its signature no longer verifies, and receipt 2's link names it.
				PreConfig: func() {
					replaceReceipt(t, cs, ns, name(1), func(doc string) string {
						return strings.Replace(doc, "alice@example.org", "mallory@example.org", 1)
					})
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					trusted(tfjsonpath.New("verified"), knownvalue.Bool(false)),
					trusted(tfjsonpath.New("head"), knownvalue.StringExact(digests[1])),
					trusted(entry(0, "operator"), knownvalue.StringExact("mallory@example.org")),
					trusted(entry(0, "signature"), knownvalue.StringExact("rejected")),
					trusted(entry(0, "signer"), knownvalue.StringExact("")),
					trusted(entry(0, "problems"), knownvalue.ListExact([]knownvalue.Check{problem("receipt " + ns + "/" + name(1) + ": signature rejected")})),
					trusted(entry(1, "signature"), knownvalue.StringExact("verified")),
					trusted(entry(1, "problems"), knownvalue.ListExact([]knownvalue.Check{problem(name(1) + " was edited or replaced after " + name(2) + " was written")})),
					// The chain alone catches it too, without any key.
					unchecked(tfjsonpath.New("verified"), knownvalue.Bool(false)),
					unchecked(entry(0, "problems"), knownvalue.ListSizeExact(0)),
					unchecked(entry(1, "problems"), knownvalue.ListExact([]knownvalue.Check{problem(name(1) + " was edited or replaced")})),
				},
			},
			{
				// The newest deleted: only the head the caller kept can show it.
				PreConfig: func() {
					must(t, cs.CoreV1().ConfigMaps(ns).Delete(t.Context(), name(2), metav1.DeleteOptions{}))
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					trusted(tfjsonpath.New("verified"), knownvalue.Bool(false)),
					trusted(tfjsonpath.New("receipts"), knownvalue.ListSizeExact(1)),
					trusted(tfjsonpath.New("problems"), knownvalue.ListExact([]knownvalue.Check{problem("the receipt with digest " + digests[1] + ", known earlier as the newest, is gone")})),
					unchecked(tfjsonpath.New("problems"), knownvalue.ListSizeExact(0)),
				},
			},
		},
	})
}

// replaceReceipt does what the API server leaves someone who wants to edit an immutable receipt:
// delete it and create it again, altered, with its stored digest recomputed to match.
func replaceReceipt(t *testing.T, cs kubernetes.Interface, ns, name string, edit func(string) string) {
	t.Helper()
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Get(t.Context(), name, metav1.GetOptions{})
	must(t, err)
	must(t, cms.Delete(t.Context(), name, metav1.DeleteOptions{}))
	doc := edit(cm.Data[receipt.KeyDocument])
	cm.Data[receipt.KeyDocument], cm.Data[receipt.KeyDigest] = doc, receipt.Digest([]byte(doc))
	cm.ResourceVersion, cm.UID, cm.CreationTimestamp = "", "", metav1.Time{}
	_, err = cms.Create(t.Context(), cm, metav1.CreateOptions{})
	must(t, err)
}

// deleteReceiptNamespace removes the test's receipts namespace and waits until it is gone.
func deleteReceiptNamespace(t *testing.T, cs kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Errorf("deleting namespace %s: %v", ns, err)
		return
	}
	for ctx.Err() == nil {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("namespace %s is still there", ns)
}
