package provider

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// operatorKeyPEM is an operator's key pair in cosign's formats, password "pw".
func operatorKeyPEM(t *testing.T) (privPEM, pubPEM string) {
	t.Helper()
	priv, pub, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	return string(priv), string(pub)
}

func TestConfigReceiptsDefaults(t *testing.T) {
	for name, m := range map[string]*receiptsModel{
		"no block":    nil,
		"empty block": {Namespace: types.StringNull(), Stream: types.StringNull(), Operator: types.StringNull(), Directory: types.StringNull()},
	} {
		t.Run(name, func(t *testing.T) {
			s, diags := receiptSettingsFrom(m)
			if diags.HasError() {
				t.Fatal(diags)
			}
			if s.stream != (receipt.Stream{Namespace: "airgap-system", Name: "deployments"}) || s.signer != nil || s.operator != "" || s.directory != "" || s.unknown != nil {
				t.Fatalf("settings %+v: want the defaults, unsigned", s)
			}
		})
	}
}

func TestConfigReceiptsSigningKey(t *testing.T) {
	privPEM, pubPEM := operatorKeyPEM(t)
	pub, err := signing.ParsePublicKey([]byte(pubPEM))
	must(t, err)
	fp, err := signing.Fingerprint(pub)
	must(t, err)
	// The password may come from COSIGN_PASSWORD, as cosign reads it.
	t.Setenv(passwordEnv, "pw")
	s, diags := receiptSettingsFrom(&receiptsModel{
		Namespace: types.StringValue("audit"), Stream: types.StringValue("prod"), Operator: types.StringValue("alice@example.org"),
		SigningKey: &receiptSigningKeyModel{PrivateKey: types.StringValue(privPEM), Password: types.StringNull()},
		Directory:  types.StringValue(t.TempDir()),
	})
	if diags.HasError() {
		t.Fatal(diags)
	}
	if s.signer == nil || s.fingerprint != fp || s.stream.String() != "audit/prod" || s.operator != "alice@example.org" {
		t.Fatalf("settings %+v, want signed by %s in audit/prod", s, fp)
	}
	// The log names the key by its fingerprint, never by its contents.
	var out bytes.Buffer
	s.log(tflogtest.RootLogger(context.Background(), &out))
	if log := out.String(); !strings.Contains(log, fp) || strings.Contains(log, "-----BEGIN") || strings.Contains(log, "pw\"") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestConfigReceiptsErrorsNameTheAttribute(t *testing.T) {
	privPEM, pubPEM := operatorKeyPEM(t)
	notADir := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(notADir, nil, 0o644))
	t.Setenv(passwordEnv, "")
	valid := func() *receiptsModel {
		return &receiptsModel{Namespace: types.StringNull(), Stream: types.StringNull(), Operator: types.StringNull(), Directory: types.StringNull(),
			SigningKey: &receiptSigningKeyModel{PrivateKey: types.StringValue(privPEM), Password: types.StringValue("pw")}}
	}
	tests := []struct {
		name string
		edit func(*receiptsModel)
		attr path.Path
		want string
	}{
		{"namespace", func(m *receiptsModel) { m.Namespace = types.StringValue("Audit_Log") }, path.Root("receipts").AtName("namespace"), `receipt namespace "Audit_Log"`},
		{"stream", func(m *receiptsModel) { m.Stream = types.StringValue("prod.eu") }, path.Root("receipts").AtName("stream"), `receipt stream "prod.eu"`},
		{"operator", func(m *receiptsModel) { m.Operator = types.StringValue("alice\x1b[2J") }, path.Root("receipts").AtName("operator"), "non-printable character"},
		{"a path, not a key", func(m *receiptsModel) { m.SigningKey.PrivateKey = types.StringValue("/home/alice/cosign.key") },
			path.Root("receipts").AtName("signing_key").AtName("private_key"), "not its path"},
		{"a public key", func(m *receiptsModel) { m.SigningKey.PrivateKey = types.StringValue(pubPEM) },
			path.Root("receipts").AtName("signing_key").AtName("private_key"), `PEM block is "PUBLIC KEY"`},
		{"wrong password", func(m *receiptsModel) { m.SigningKey.Password = types.StringValue("not-the-password") },
			path.Root("receipts").AtName("signing_key").AtName("password"), "does not decrypt with the password given"},
		{"no password, none in the environment", func(m *receiptsModel) { m.SigningKey.Password = types.StringNull() },
			path.Root("receipts").AtName("signing_key").AtName("password"), "the password in COSIGN_PASSWORD (password is unset)"},
		{"directory is a file", func(m *receiptsModel) { m.Directory = types.StringValue(notADir) }, path.Root("receipts").AtName("directory"), "is not a directory"},
		{"directory empty", func(m *receiptsModel) { m.Directory = types.StringValue("") }, path.Root("receipts").AtName("directory"), "directory is empty"},
	}
	if _, diags := receiptSettingsFrom(valid()); diags.HasError() {
		t.Fatalf("the valid block is refused: %v", diags)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.edit(m)
			_, diags := receiptSettingsFrom(m)
			if diags.ErrorsCount() != 1 {
				t.Fatalf("%d errors, want 1: %v", diags.ErrorsCount(), diags)
			}
			d := diags.Errors()[0]
			withPath, ok := d.(interface{ Path() path.Path })
			if !ok || !withPath.Path().Equal(tt.attr) {
				t.Fatalf("error %q is not on %s", d.Detail(), tt.attr)
			}
			if !strings.Contains(d.Detail(), tt.want) {
				t.Fatalf("detail %q, want it to contain %q", d.Detail(), tt.want)
			}
			if strings.Contains(d.Summary()+d.Detail(), "-----BEGIN") || strings.Contains(d.Detail(), "not-the-password") {
				t.Fatalf("the diagnostic repeats a secret: %s", d.Detail())
			}
		})
	}
}

func TestConfigReceiptsUnknownUntilApply(t *testing.T) {
	s, diags := receiptSettingsFrom(&receiptsModel{Namespace: types.StringNull(), Stream: types.StringNull(), Operator: types.StringNull(), Directory: types.StringNull(),
		SigningKey: &receiptSigningKeyModel{PrivateKey: types.StringUnknown(), Password: types.StringNull()}})
	if diags.HasError() {
		t.Fatalf("an unknown key must wait for apply, not fail the plan: %v", diags)
	}
	if _, err := (&providerData{receipts: s}).recordDeployment(t.Context(), sampleDeployment(1)); err == nil || !strings.Contains(err.Error(), "not known yet") {
		t.Fatalf("recording with an unknown configuration: %v", err)
	}
}

// sampleDeployment is what a chart resource would record; n varies it.
func sampleDeployment(n int) receipt.Receipt {
	return receipt.Receipt{
		Action: receipt.ActionUpgrade, Resource: "airgap_chart.web",
		Bundles: []receipt.Bundle{bundleRecord(&bundle.Bundle{
			Head:    bundle.Head{BOM: &bundle.BOM{Name: "shop", Version: "1.2.0"}, BOMDigest: receipt.Digest([]byte("bom"))},
			Signers: []signing.Signer{{Name: "vendor", Fingerprint: receipt.Digest([]byte("vendor key"))}},
		})},
		Images: []receipt.Image{{Source: "ghcr.io/example/web:1.2.0", Deployed: "127.0.0.1:31999/example/web@" + receipt.Digest([]byte("web"))}},
		Releases: []receipt.Release{{Kind: receipt.KindChart, Name: "web", Namespace: "shop", Revision: int64(n), ChartVersion: "1.2.0",
			ManifestDigest: receipt.Digest([]byte{byte(n)})}},
	}
}

// TestProviderRecordDeployment records through the hook against a fake API server: the receipts
// chain, carry the operator and the configured time, are signed, and are written to the directory
// where cosign verify-blob would find them.
func TestProviderRecordDeployment(t *testing.T) {
	privPEM, pubPEM := operatorKeyPEM(t)
	dir := filepath.Join(t.TempDir(), "receipts") // made on first write
	s, diags := receiptSettingsFrom(&receiptsModel{Namespace: types.StringNull(), Stream: types.StringValue("prod"), Operator: types.StringValue("alice@example.org"),
		SigningKey: &receiptSigningKeyModel{PrivateKey: types.StringValue(privPEM), Password: types.StringValue("pw")}, Directory: types.StringValue(dir)})
	if diags.HasError() {
		t.Fatal(diags)
	}
	cs := fake.NewClientset()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	d := &providerData{receipts: s, now: func() time.Time { return at }, clients: clients{kube: cs}}
	var digests []string
	for n := 1; n <= 2; n++ {
		digest, err := d.recordDeployment(t.Context(), sampleDeployment(n))
		must(t, err)
		digests = append(digests, digest)
	}

	pub, err := signing.ParsePublicKey([]byte(pubPEM))
	must(t, err)
	policy := signing.Policy{Keys: []signing.TrustedKey{{Name: "operator", Key: pub}}}
	h, err := receipt.List(t.Context(), cs, receipt.Stream{Namespace: "airgap-system", Name: "prod"}, receipt.ListOptions{Policy: &policy, KnownHead: digests[1]})
	must(t, err)
	if err := h.Err(); err != nil || len(h.Entries) != 2 {
		t.Fatalf("%d entries, problems: %v", len(h.Entries), err)
	}
	for i, e := range h.Entries {
		r := e.Record.Receipt
		if e.Record.Digest != digests[i] || r.Operator != "alice@example.org" || !r.Time.Equal(at) || e.Signer.Name != "operator" {
			t.Fatalf("entry %d: %+v, receipt %+v", i, e, r)
		}
		if r.Bundles[0].SHA256 != "" || !slices.Equal(r.Bundles[0].Signers, []string{receipt.Digest([]byte("vendor key"))}) {
			t.Fatalf("bundle recorded as %+v", r.Bundles[0])
		}
		rec, err := receipt.ReadFile(filepath.Join(dir, s.stream.ObjectName(uint64(i+1))+".json"))
		must(t, err)
		if _, err := rec.Verify(policy); err != nil || rec.Digest != digests[i] {
			t.Fatalf("file copy %d: digest %s, %v", i+1, rec.Digest, err)
		}
	}

	// What the data source shows of the newest.
	got := entryOf(h.Entries[1])
	want := "chart shop/web revision 2 chart 1.2.0 " + receipt.Digest([]byte{2})
	if got.Signature != "verified" || got.Signer != "operator" || got.Time != "2026-05-01T12:00:00Z" || !slices.Equal(got.Releases, []string{want}) ||
		got.Images["ghcr.io/example/web:1.2.0"] != "127.0.0.1:31999/example/web@"+receipt.Digest([]byte("web")) || len(got.Problems) != 0 {
		t.Fatalf("entry shown as %+v", got)
	}
}

// TestProviderReceiptsRefuseBadInput: a wrong key password fails the plan at Configure, before
// anything is applied, and a known_head that is not a digest fails validation.
func TestProviderReceiptsRefuseBadInput(t *testing.T) {
	e := &env{t: t, dir: t.TempDir()}
	priv, _ := e.key("operator")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: `
provider "airgap" {
  receipts = { signing_key = { private_key = file(` + hcl(priv) + `), password = "not-the-password" } }
}
data "airgap_receipts" "h" {}`,
				ExpectError: wrapped("the private key does not decrypt with the password given: check the password for this key"),
			},
			{
				Config:      `data "airgap_receipts" "h" { known_head = "sha256:abc" }`,
				ExpectError: wrapped("must be the digest of a receipt"),
			},
		},
	})
}
