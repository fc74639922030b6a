package provider

import (
	"context"
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// Deployment receipts, the provider's side of internal/receipt: Configure reads the receipts
// block into receiptSettings, and the workload resources call recordDeployment after every apply
// that changed workloads. Receipts are kept whether or not the block is there.

const (
	defaultReceiptNamespace = "airgap-system"
	defaultReceiptStream    = "deployments"
)

// receiptSettings is the receipts block as Configure read and checked it.
type receiptSettings struct {
	stream      receipt.Stream
	operator    string
	signer      crypto.Signer // nil: receipts are unsigned
	fingerprint string        // of signer's public key
	directory   string        // "": no file copies
	// unknown is set when Configure saw values known only later (a key produced by a resource):
	// Terraform configures the provider again, with them, before it applies anything.
	unknown error
}

// receiptSettingsFrom reads the receipts block; nil means the defaults, unsigned. Every fault is
// an error on the attribute that holds it, and no diagnostic repeats the key or its password.
func receiptSettingsFrom(m *receiptsModel) (receiptSettings, diag.Diagnostics) {
	s := receiptSettings{stream: receipt.Stream{Namespace: defaultReceiptNamespace, Name: defaultReceiptStream}}
	if m == nil {
		return s, nil
	}
	if m.Namespace.IsUnknown() || m.Stream.IsUnknown() || m.Operator.IsUnknown() || m.Directory.IsUnknown() ||
		(m.SigningKey != nil && (m.SigningKey.PrivateKey.IsUnknown() || m.SigningKey.Password.IsUnknown())) {
		s.unknown = errors.New("the provider's receipts configuration is not known yet (it depends on a resource not yet applied); no receipt can be recorded with it")
		return s, nil
	}
	var diags diag.Diagnostics
	at := path.Root("receipts")
	if !m.Namespace.IsNull() {
		s.stream.Namespace = m.Namespace.ValueString()
	}
	if !m.Stream.IsNull() {
		s.stream.Name = m.Stream.ValueString()
	}
	if attr, err := checkStream(s.stream); err != nil {
		diags.AddAttributeError(at.AtName(attr), "Invalid receipts "+attr, err.Error())
	}
	s.operator = m.Operator.ValueString()
	if err := checkOperator(s.operator); err != nil {
		diags.AddAttributeError(at.AtName("operator"), "Invalid operator", err.Error()+": name the operator in printable text.")
	}
	if m.SigningKey != nil {
		signer, attr, err := m.SigningKey.load()
		if err != nil {
			diags.AddAttributeError(at.AtName("signing_key").AtName(attr), "Invalid receipts signing key", err.Error())
		} else if s.fingerprint, err = signing.Fingerprint(signer.Public()); err != nil {
			diags.AddAttributeError(at.AtName("signing_key").AtName("private_key"), "Invalid receipts signing key", err.Error())
		}
		s.signer = signer
	}
	if !m.Directory.IsNull() {
		s.directory = m.Directory.ValueString()
		if err := checkDirectory(s.directory); err != nil {
			diags.AddAttributeError(at.AtName("directory"), "Invalid receipts directory", err.Error())
		}
	}
	return s, diags
}

// load decrypts the operator key and says which attribute is at fault when it cannot.
func (m receiptSigningKeyModel) load() (signer crypto.Signer, faultyAttr string, err error) {
	pemBytes := []byte(m.PrivateKey.ValueString())
	if block, _ := pem.Decode(pemBytes); block == nil {
		return nil, "private_key", errors.New(`no PEM block found: give the key's contents, as cosign generate-key-pair writes cosign.key (file("cosign.key")), not its path`)
	}
	password, from := m.Password.ValueString(), "the password given"
	if m.Password.IsNull() {
		password, from = os.Getenv(passwordEnv), "the password in "+passwordEnv+" (password is unset)"
	}
	signer, err = signing.LoadPrivateKey(pemBytes, []byte(password))
	switch {
	case err == nil:
		return signer, "", nil
	case strings.Contains(err.Error(), "decrypting the private key"):
		// internal/signing says so only in its message; scrypt and secretbox cannot tell a wrong
		// password from a damaged key, and the password is by far the likelier.
		return nil, "password", fmt.Errorf("the private key does not decrypt with %s: check the password for this key", from)
	default:
		return nil, "private_key", err
	}
}

// checkStream says which of namespace or stream is invalid.
func checkStream(s receipt.Stream) (attr string, err error) {
	if err := (receipt.Stream{Namespace: s.Namespace, Name: defaultReceiptStream}).Validate(); err != nil {
		return "namespace", err
	}
	if err := s.Validate(); err != nil {
		return "stream", err
	}
	return "", nil
}

// checkOperator refuses, at Configure, an operator name every receipt would refuse after the
// workloads changed: it validates a minimal receipt that differs from a good one only by it.
func checkOperator(operator string) error {
	probe := receipt.Receipt{
		Schema: receipt.SchemaV1, Stream: defaultReceiptStream, Sequence: 1,
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Action: receipt.ActionInstall, Operator: operator,
		Releases: []receipt.Release{{Kind: receipt.KindManifest, Name: "probe", ManifestDigest: receipt.Digest(nil)}},
	}
	_, err := probe.Marshal()
	return err
}

// checkDirectory admits a directory, or a path where one can be made when the first receipt is
// written (by an earlier resource of the same apply, say).
func checkDirectory(dir string) error {
	if dir == "" {
		return errors.New("directory is empty: name a directory, or leave it unset to keep receipts in the cluster only")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// log says where receipts go and whose key signs them (its fingerprint, never the key).
func (s receiptSettings) log(ctx context.Context) {
	if s.unknown != nil {
		return
	}
	fields := map[string]any{"namespace": s.stream.Namespace, "stream": s.stream.Name, "signed": s.signer != nil}
	if s.fingerprint != "" {
		fields["operator_key"] = s.fingerprint
	}
	if s.operator != "" {
		fields["operator"] = s.operator
	}
	if s.directory != "" {
		fields["directory"] = s.directory
	}
	tflog.Info(ctx, "deployment receipts are kept as ConfigMaps through the same Kubernetes API", fields)
}

// recordDeployment appends a receipt for an apply that changed workloads to the configured
// stream, signed with the operator key when one is configured, and written to the configured
// directory; it returns the receipt's digest ("sha256:...").
//
// The caller fills Action, Resource, Bundles, Images and Releases; the operator and the time are
// set here. When only the file copy fails, the receipt is already in the cluster: its digest is
// returned with the error.
func (d *providerData) recordDeployment(ctx context.Context, r receipt.Receipt) (string, error) {
	if d == nil {
		return "", errors.New("the provider is not configured: no receipt can be recorded")
	}
	s := d.receipts
	if s.unknown != nil {
		return "", s.unknown
	}
	cs, err := d.kubeClient()
	if err != nil {
		return "", err
	}
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	r.Operator, r.Time = s.operator, now()
	rec, err := receipt.Append(ctx, cs, s.stream, r, receipt.AppendOptions{Signer: s.signer})
	if err != nil {
		return "", fmt.Errorf("recording the deployment receipt in %s: %w", s.stream, err)
	}
	name := s.stream.ObjectName(rec.Receipt.Sequence)
	tflog.Info(ctx, "deployment receipt recorded", map[string]any{
		"receipt": s.stream.Namespace + "/" + name, "digest": rec.Digest, "signed_by": rec.Receipt.SignedBy, "resource": r.Resource,
	})
	if s.directory == "" {
		return rec.Digest, nil
	}
	file := filepath.Join(s.directory, name+".json")
	if err := os.MkdirAll(s.directory, 0o755); err != nil {
		return rec.Digest, fmt.Errorf("receipt %s is kept in the cluster as %s/%s, but its copy cannot be written: %w", rec.Digest, s.stream.Namespace, name, err)
	}
	if err := receipt.WriteFile(file, rec); err != nil {
		return rec.Digest, fmt.Errorf("receipt %s is kept in the cluster as %s/%s, but its copy cannot be written: %w", rec.Digest, s.stream.Namespace, name, err)
	}
	return rec.Digest, nil
}

// bundleRecord is what a receipt says about a verified bundle. The file's SHA-256 is left out:
// the BOM digest pins every byte, since the signed BOM lists the SHA-256 of every entry.
func bundleRecord(b *bundle.Bundle) receipt.Bundle {
	return receipt.Bundle{Name: b.BOM.Name, Version: b.BOM.Version, BOMDigest: b.BOMDigest, Signers: fingerprints(b)}
}
