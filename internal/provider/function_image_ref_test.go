package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

func TestRewriteReference(t *testing.T) {
	idx := "sha256:" + strings.Repeat("a", 64)
	arm := "sha256:" + strings.Repeat("b", 64)
	images := []imageModel{
		{Ref: "docker.io/library/nginx:1.27", Name: "docker.io/library/nginx", Tag: "1.27", Digest: idx, SourceDigest: idx, Platforms: map[string]string{"linux/arm64": arm}},
		{Ref: "registry.example/team/app:2", Name: "registry.example/team/app", Tag: "2", Digest: "sha256:" + strings.Repeat("c", 64)},
	}
	for _, c := range []struct{ ref, want, err string }{
		{"nginx:1.27", "127.0.0.1:31999/library/nginx@" + idx, ""},
		{"docker.io/library/nginx:1.27", "127.0.0.1:31999/library/nginx@" + idx, ""},
		{"index.docker.io/library/nginx@" + arm, "127.0.0.1:31999/library/nginx@" + arm, ""},
		{"registry.example/team/app:2", "127.0.0.1:31999/team/app@sha256:" + strings.Repeat("c", 64), ""},
		{"nginx:1.28", "", "does not carry nginx:1.28"},
		{"quay.io/team/app:2", "", "does not carry"},
		{"Not A Ref", "", "not an image reference"},
	} {
		got, err := rewriteReference(images, c.ref, "127.0.0.1:31999")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.ref, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.ref, got, err, c.want)
		}
	}
}

// TestAccImageRefFunction: the function in HCL, from the data source's images; a reference the
// bundle does not carry fails the plan.
func TestAccImageRefFunction(t *testing.T) {
	e := newEnv(t)
	priv, pub := e.key("vendor")
	path := e.buildWith("fn.tar", priv)
	config := func(ref string) string {
		return fmt.Sprintf(`
provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file(%s) }]
}
data "airgap_bundle" "b" { path = %s }
output "ref" { value = provider::airgap::image_ref(data.airgap_bundle.b.images, %q, "127.0.0.1:31999") }
`, hcl(pub), hcl(path), ref)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config:            config(e.host + "/samples/app:1.0"),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("ref", knownvalue.StringRegexp(regexp.MustCompile(`^127\.0\.0\.1:31999/samples/app@sha256:[0-9a-f]{64}$`)))},
			},
			{Config: config("docker.io/library/nginx:1.27"), ExpectError: wrapped("the bundle does not carry docker.io/library/nginx:1.27")},
		},
	})
}
