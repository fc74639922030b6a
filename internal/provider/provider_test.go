package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/openairgap/terraform-provider-airgap/internal/sample"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
	"github.com/openairgap/terraform-provider-airgap/test/registry"
)

// The acceptance tests run the real terraform (or tofu: the make target runs them under both)
// against the provider served in-process, with the real CNCF Distribution registry as the
// image source.

var protoV6 = map[string]func() (tfprotov6.ProviderServer, error){
	"airgap": providerserver.NewProtocol6WithError(New("test")()),
}

// env is what one acceptance test works with: a registry holding the sample images and key
// pairs written to files.
type env struct {
	t    *testing.T
	dir  string
	host string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	reg := registry.Start(t)
	images, err := sample.Set(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Push(reg.Host, images); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: t.TempDir(), host: reg.Host}
}

// key writes a cosign-format key pair named name (password "pw") and returns the file paths.
func (e *env) key(name string) (priv, pub string) {
	e.t.Helper()
	privPEM, pubPEM, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		e.t.Fatal(err)
	}
	priv, pub = filepath.Join(e.dir, name+".key"), filepath.Join(e.dir, name+".pub")
	e.write(priv, string(privPEM))
	e.write(pub, string(pubPEM))
	return priv, pub
}

func (e *env) write(path, content string) string {
	e.t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(e.dir, path)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

// manifest writes a Deployment using the app and sidecar sample images.
func (e *env) manifest() string {
	return e.write("deploy.yaml", fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: app, image: %[1]s/samples/app:1.0}
      - {name: sidecar, image: %[1]s/samples/sidecar:1.0}
`, e.host))
}

// wrapped matches text however terraform wraps it across lines.
func wrapped(text string) *regexp.Regexp {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// hcl quotes a path for a configuration.
func hcl(s string) string { return fmt.Sprintf("%q", s) }

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
