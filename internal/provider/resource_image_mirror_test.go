package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/objstore"
	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
	"github.com/openairgap/terraform-provider-airgap/test/registry"
)

func mirrorConfig(pub, bundlePath, dest string) string {
	return fmt.Sprintf(`
provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file(%s) }]
}
resource "airgap_image_mirror" "m" {
  bundle     = %s
  registry   = %q
  plain_http = true
}`, hcl(pub), hcl(bundlePath), dest)
}

// TestAccImageMirror: a verified bundle mirrored into the real Distribution registry; every
// image pulled back by its mirrored reference has the BOM's digest; a manifest deleted in the
// registry shows as drift in the next plan and the apply restores it.
func TestAccImageMirror(t *testing.T) {
	e := newEnv(t)
	priv, pub := e.key("vendor")
	path := e.buildWith("mirror.tar", priv)
	head, _, err := bundle.ReadHead(path)
	must(t, err)
	dest := registry.Start(t)
	config := mirrorConfig(pub, path, dest.Host)
	app := head.BOM.Images[0]
	appRef := dest.Host + "/samples/app@" + app.Digest

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Known at plan time, from the signed BOM.
					plancheck.ExpectKnownValue("airgap_image_mirror.m", tfjsonpath.New("references").AtMapKey(app.Ref), knownvalue.StringExact(appRef)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_image_mirror.m", tfjsonpath.New("references"), knownvalue.MapSizeExact(len(head.BOM.Images))),
					statecheck.ExpectKnownValue("airgap_image_mirror.m", tfjsonpath.New("drift"), knownvalue.ListSizeExact(0)),
				},
				Check: pulledBack(head.BOM),
			},
			{
				PreConfig: func() { deleteManifest(t, dest.Host, "samples/app", app.Digest) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("airgap_image_mirror.m", plancheck.ResourceActionUpdate),
				}},
				Check: pulledBack(head.BOM),
			},
			{Config: config, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
	// Destroy removed the manifests; blobs are left to the registry's garbage collector.
	if _, err := remote.Head(mustRef(t, appRef)); err == nil {
		t.Fatal("destroy left the mirrored manifest in the registry")
	}
}

// TestAccImageMirrorRefusesTamperedBundle: one flipped payload byte and nothing is pushed.
func TestAccImageMirrorRefusesTamperedBundle(t *testing.T) {
	e := newEnv(t)
	priv, pub := e.key("vendor")
	path := e.buildWith("tampered.tar", priv)
	flipByteAt(t, path, -8192)
	dest := registry.Start(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps:                    []resource.TestStep{{Config: mirrorConfig(pub, path, dest.Host), ExpectError: wrapped("nothing was pushed")}},
	})
	resp, err := http.Get("http://" + dest.Host + "/v2/_catalog")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"repositories":[]`) {
		t.Fatalf("a tampered bundle wrote to the registry: %s", body)
	}
}

// pulledBack checks every mirrored reference resolves to the BOM's digest.
func pulledBack(bom *bundle.BOM) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs := s.RootModule().Resources["airgap_image_mirror.m"].Primary.Attributes
		for _, img := range bom.Images {
			ref := attrs["references."+img.Ref]
			r, err := name.ParseReference(ref)
			if err != nil {
				return fmt.Errorf("%s: %w", img.Ref, err)
			}
			desc, err := remote.Get(r)
			if err != nil {
				return fmt.Errorf("pulling %s: %w", ref, err)
			}
			if desc.Digest.String() != img.Digest {
				return fmt.Errorf("%s pulled as %s, the BOM says %s", ref, desc.Digest, img.Digest)
			}
		}
		return nil
	}
}

func deleteManifest(t *testing.T, host, repo, digest string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, "http://"+host+"/v2/"+repo+"/manifests/"+digest, nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting %s@%s: %s", repo, digest, resp.Status)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	must(t, err)
	return r
}

// TestAccImageMirrorOnMinIO: the same mirror into a Distribution registry whose storage is a
// MinIO bucket, every image pulled back by its mirrored reference.
func TestAccImageMirrorOnMinIO(t *testing.T) {
	e := newEnv(t)
	priv, pub := e.key("vendor")
	path := e.buildWith("mirror.tar", priv)
	head, _, err := bundle.ReadHead(path)
	must(t, err)
	store := miniotest.Start(t)
	c, err := objstore.New(objstore.Config{Endpoint: store.Endpoint, AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey})
	must(t, err)
	must(t, c.EnsureBucket(context.Background(), "registry"))
	dest := registry.StartS3(t, registry.S3{Endpoint: store.Endpoint, Bucket: "registry", AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey})
	config := mirrorConfig(pub, path, dest.Host)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{Config: config, Check: pulledBack(head.BOM)},
			{
				PreConfig: func() { deleteManifest(t, dest.Host, "samples/app", head.BOM.Images[0].Digest) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("airgap_image_mirror.m", plancheck.ResourceActionUpdate),
				}},
				Check: pulledBack(head.BOM),
			},
		},
	})
}
