package provider

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// bundleConfig builds a signed bundle of the three sample images, a manifest and a file on the
// connected side, and verifies it with the data source as the enclave would.
func (e *env) bundleConfig(vendorPriv, vendorPub string, extra string) string {
	return fmt.Sprintf(`
provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file(%[1]s) }]
}

resource "airgap_bundle" "demo" {
  name    = "demo"
  version = "1.0.0"
  output  = %[2]s
  images = [
    { ref = "%[3]s/samples/app:1.0" },
    { ref = "%[3]s/samples/sidecar:1.0", platforms = ["linux/amd64", "linux/arm64"] },
    { ref = "%[3]s/samples/tool:1.0" },
  ]
  manifests = [%[4]s]
  files     = { "readme.txt" = %[5]s }
  signing_keys = [{ private_key = file(%[6]s), password = "pw" }]
}

data "airgap_bundle" "demo" {
  path           = airgap_bundle.demo.paths[0]
  verify_payload = true
}
%[7]s`, hcl(vendorPub), hcl(e.path("demo.tar")), e.host, hcl(e.manifest()), hcl(e.write("readme.txt", "hello\n")), hcl(vendorPriv), extra)
}

func TestAccBundleBuildVerifyAndRebuild(t *testing.T) {
	e := newEnv(t)
	priv, pub := e.key("vendor")
	config := e.bundleConfig(priv, pub, "")
	sameBOM := statecheck.CompareValue(compare.ValuesSame())
	data := "data.airgap_bundle.demo"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					sameBOM.AddStateValue("airgap_bundle.demo", tfjsonpath.New("bom_digest")),
					statecheck.CompareValuePairs("airgap_bundle.demo", tfjsonpath.New("bom_digest"), data, tfjsonpath.New("bom_digest"), compare.ValuesSame()),
					statecheck.CompareValuePairs("airgap_bundle.demo", tfjsonpath.New("signer_fingerprints").AtSliceIndex(0), data, tfjsonpath.New("signers").AtSliceIndex(0).AtMapKey("fingerprint"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("signers").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("vendor")),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("images"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("images").AtSliceIndex(0).AtMapKey("platforms"), knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("images").AtSliceIndex(2).AtMapKey("platforms"), knownvalue.MapSizeExact(1)),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("manifests").AtSliceIndex(0).AtMapKey("images"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("files").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("readme.txt")),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("sbom_digest"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue("airgap_bundle.demo", tfjsonpath.New("sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
				},
			},
			{
				// Deleted outside Terraform: the plan rebuilds it, byte for byte the same BOM.
				PreConfig: func() { must(t, os.Remove(e.path("demo.tar"))) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("airgap_bundle.demo", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("airgap_bundle.demo", tfjsonpath.New("sha256")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameBOM.AddStateValue("airgap_bundle.demo", tfjsonpath.New("bom_digest"))},
			},
			{
				// Modified outside Terraform (one byte of the payload): rebuilt too.
				PreConfig: func() { flipByteAt(t, e.path("demo.tar"), -2048) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("airgap_bundle.demo", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameBOM.AddStateValue("airgap_bundle.demo", tfjsonpath.New("bom_digest"))},
			},
			{
				// Nothing changed: the plan is empty.
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

func TestAccBundleUnvendoredImageIsAPlanError(t *testing.T) {
	e := newEnv(t)
	priv, _ := e.key("vendor")
	manifest := e.write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: docker.io/library/nginx:1.27}]\n")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "airgap_bundle" "bad" {
  name = "bad"
  version = "1"
  output = %s
  images = [{ ref = "%s/samples/tool:1.0" }]
  manifests = [%s]
  signing_keys = [{ private_key = file(%s), password = "pw" }]
}`, hcl(e.path("bad.tar")), e.host, hcl(manifest), hcl(priv)),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)would not carry an image.*bad.yaml\s+uses image "docker.io/library/nginx:1.27", which the bundle does not\s+carry`),
		}},
	})
	if _, err := os.Stat(e.path("bad.tar")); !os.IsNotExist(err) {
		t.Fatal("a failed build left a bundle behind")
	}
}

func flipByteAt(t *testing.T, path string, fromEnd int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	st, err := f.Stat()
	must(t, err)
	b := make([]byte, 1)
	_, err = f.ReadAt(b, st.Size()+fromEnd)
	must(t, err)
	b[0] ^= 0x01
	_, err = f.WriteAt(b, st.Size()+fromEnd)
	must(t, err)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
