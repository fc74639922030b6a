package provider

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// buildWith builds the sample bundle with the engine directly, signed by the given key files.
func (e *env) buildWith(out string, keyFiles ...string) string {
	e.t.Helper()
	spec := bundle.Spec{
		Name: "demo", Version: "1.0.0", Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Output: e.path(out),
		Images: []bundle.ImageSpec{{Ref: e.host + "/samples/app:1.0"}, {Ref: e.host + "/samples/tool:1.0"}},
	}
	var keys []bundle.SigningKey
	for _, f := range keyFiles {
		pemBytes, err := os.ReadFile(f)
		must(e.t, err)
		s, err := signing.LoadPrivateKey(pemBytes, []byte("pw"))
		must(e.t, err)
		keys = append(keys, bundle.SigningKey{Signer: s})
	}
	if _, err := bundle.Build(context.Background(), spec, bundle.BuildOptions{Keys: keys}); err != nil {
		e.t.Fatal(err)
	}
	return spec.Output
}

func enclaveConfig(provider, bundlePath string) string {
	return fmt.Sprintf(`
provider "airgap" {
%s
}
data "airgap_bundle" "b" {
  path           = %s
  verify_payload = true
}`, provider, hcl(bundlePath))
}

// TestAccBundleDataSourceRejects: what the enclave must refuse, each a failed plan that says why.
func TestAccBundleDataSourceRejects(t *testing.T) {
	e := newEnv(t)
	vendorPriv, vendorPub := e.key("vendor")
	strangerPriv, _ := e.key("stranger")
	good := e.buildWith("good.tar", vendorPriv)
	unsigned := e.buildWith("unsigned.tar")
	stranger := e.buildWith("stranger.tar", strangerPriv)
	tampered := e.buildWith("tampered.tar", vendorPriv)
	flipByteAt(t, tampered, -4096)
	trustVendor := fmt.Sprintf(`  trusted_keys = [{ name = "vendor", public_key = file(%s) }]`, hcl(vendorPub))
	expired := fmt.Sprintf(`  trusted_keys = [{ name = "vendor", public_key = file(%s), not_after = "2020-01-01T00:00:00Z" }]`, hcl(vendorPub))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{Config: enclaveConfig(trustVendor, unsigned), ExpectError: wrapped("the bundle is unsigned")},
			{Config: enclaveConfig(trustVendor, stranger), ExpectError: wrapped("made by a key that is not trusted")},
			{Config: enclaveConfig(trustVendor, tampered), ExpectError: wrapped("does not match the signed BOM")},
			{Config: enclaveConfig(expired, good), ExpectError: wrapped(`trusted key "vendor" expired`)},
			{Config: enclaveConfig("", good), ExpectError: wrapped("No trusted key")},
			{Config: enclaveConfig(trustVendor, e.path("missing.tar")), ExpectError: wrapped("does not exist")},
			{
				Config: enclaveConfig(trustVendor, good),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.airgap_bundle.b", tfjsonpath.New("signers").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("vendor")),
					statecheck.ExpectKnownValue("data.airgap_bundle.b", tfjsonpath.New("images"), knownvalue.ListSizeExact(2)),
				},
			},
		},
	})
}

// TestAccBundleCoSign: a vendor-signed bundle, co-signed by the customer with
// airgap_bundle_signature, is accepted where both signatures are required.
func TestAccBundleCoSign(t *testing.T) {
	e := newEnv(t)
	vendorPriv, vendorPub := e.key("vendor")
	customerPriv, customerPub := e.key("customer")
	path := e.buildWith("stock.tar", vendorPriv)
	head, _, err := bundle.ReadHead(path)
	must(t, err)
	provider := fmt.Sprintf(`  trusted_keys = [
    { name = "vendor", public_key = file(%s) },
    { name = "customer", public_key = file(%s) },
  ]
  required_signers = ["vendor", "customer"]`, hcl(vendorPub), hcl(customerPub))
	sign := fmt.Sprintf(`
resource "airgap_bundle_signature" "customer" {
  bundle              = %s
  expected_bom_digest = %q
  signing_key         = { private_key = file(%s), password = "pw" }
}`, hcl(path), head.BOMDigest, hcl(customerPriv))

	afterSigning := fmt.Sprintf(`
provider "airgap" {
%s
}
%s
data "airgap_bundle" "b" {
  path           = %s
  verify_payload = true
  depends_on     = [airgap_bundle_signature.customer]
}`, provider, sign, hcl(path))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{Config: enclaveConfig(provider, path), ExpectError: wrapped("required signer(s) customer did not sign")},
			{
				Config: afterSigning,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_bundle_signature.customer", tfjsonpath.New("signer_fingerprints"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue("data.airgap_bundle.b", tfjsonpath.New("signers"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("customer")}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("vendor")}),
					})),
				},
			},
		},
	})
	// Destroy removed the customer's signature again, leaving the vendor's.
	head, _, err = bundle.ReadHead(path)
	must(t, err)
	if len(head.Signatures) != 1 {
		t.Fatalf("after destroy the bundle has %d signatures, want the vendor's alone", len(head.Signatures))
	}
}
