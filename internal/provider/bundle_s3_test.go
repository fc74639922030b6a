package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/objstore"
	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
	"github.com/openairgap/terraform-provider-airgap/test/registry"
)

// TestAccBundleInObjectStorage: the connected side uploads what it built to real MinIO, with
// the BOM and SBOM beside it and presigned links to them; the enclave side verifies the bundle
// straight from s3://; a presigned link fetched with curl gives the exact BOM; a tampered object
// is refused; and the enclave mirrors the images straight from s3:// into a registry.
func TestAccBundleInObjectStorage(t *testing.T) {
	e := newEnv(t)
	priv, pub := e.key("vendor")
	srv := miniotest.Start(t)
	dest := registry.Start(t)
	objectStore := fmt.Sprintf(`
  object_store = {
    endpoint      = %q
    access_key    = %q
    secret_key    = %q
    insecure_http = true
  }`, srv.Endpoint, miniotest.AccessKey, miniotest.SecretKey)
	config := fmt.Sprintf(`
provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file(%s) }]
%s
}
resource "airgap_bundle" "demo" {
  name         = "demo"
  version      = "1.0.0"
  output       = %s
  images       = [{ ref = "%s/samples/app:1.0" }]
  signing_keys = [{ private_key = file(%s), password = "pw" }]
  upload_to    = "s3://bundles/demo/1.0.0.tar"
}
data "airgap_bundle" "from_s3" {
  path           = "s3://bundles/demo/1.0.0.tar"
  verify_payload = true
  depends_on     = [airgap_bundle.demo]
}
resource "airgap_image_mirror" "m" {
  bundle     = "s3://bundles/demo/1.0.0.tar"
  registry   = %q
  plain_http = true
  depends_on = [airgap_bundle.demo]
}`, hcl(pub), objectStore, hcl(e.path("demo.tar")), e.host, hcl(priv), dest.Host)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_bundle.demo", tfjsonpath.New("uploaded"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("s3://bundles/demo/1.0.0.tar")})),
					statecheck.CompareValuePairs("airgap_bundle.demo", tfjsonpath.New("bom_digest"), "data.airgap_bundle.from_s3", tfjsonpath.New("bom_digest"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.airgap_bundle.from_s3", tfjsonpath.New("signers").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("vendor")),
				},
				Check: resource.ComposeTestCheckFunc(pulledBackFrom(e.path("demo.tar")), func(s *terraform.State) error {
					link := s.RootModule().Resources["airgap_bundle.demo"].Primary.Attributes["bom_url"]
					got, err := exec.Command("curl", "-sf", link).Output()
					if err != nil {
						return fmt.Errorf("curl of the presigned BOM link %s: %w", link, err)
					}
					head, _, err := bundle.ReadHead(e.path("demo.tar"))
					if err != nil {
						return err
					}
					if !bytes.Equal(got, head.BOMBytes) {
						return fmt.Errorf("the presigned link returned %d bytes that are not the BOM", len(got))
					}
					return nil
				}),
			},
			{
				PreConfig: func() { uploadTampered(t, srv, e.path("demo.tar"), "demo/tampered.tar") },
				Config: fmt.Sprintf(`
provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file(%s) }]
%s
}
data "airgap_bundle" "tampered" {
  path           = "s3://bundles/demo/tampered.tar"
  verify_payload = true
}`, hcl(pub), objectStore),
				ExpectError: wrapped("does not match the signed BOM"),
			},
		},
	})
}

// pulledBackFrom checks the mirror against the BOM of a local copy of the bundle.
func pulledBackFrom(local string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		head, _, err := bundle.ReadHead(local)
		if err != nil {
			return err
		}
		return pulledBack(head.BOM)(s)
	}
}

func uploadTampered(t *testing.T, srv *miniotest.Server, src, key string) {
	t.Helper()
	data, err := os.ReadFile(src)
	must(t, err)
	data[len(data)-4096] ^= 1
	p := e2eTemp(t, data)
	c, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey})
	must(t, err)
	_, err = c.Upload(context.Background(), "bundles", key, p)
	must(t, err)
}

func e2eTemp(t *testing.T, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "tampered-*.tar")
	must(t, err)
	_, err = f.Write(data)
	must(t, err)
	must(t, f.Close())
	return f.Name()
}
