package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// issue makes a certificate for key, signed by parent (self-signed when parent is nil), valid
// from an hour ago until notAfter.
func issue(t *testing.T, cn string, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, IsCA: ca, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	must(t, err)
	c, err := x509.ParseCertificate(der)
	must(t, err)
	return c
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TestAccBundleTrustedRoot: a bundle signed under a certificate chained to a trusted root is
// accepted and shows the certificate's subject; one whose certificate has expired is refused.
func TestAccBundleTrustedRoot(t *testing.T) {
	e := newEnv(t)
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := issue(t, "Customer Root CA", rootKey, nil, nil, true, time.Now().Add(24*time.Hour))
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	current := issue(t, "release-signer", leafKey, root, rootKey, false, time.Now().Add(time.Hour))
	expired := issue(t, "old-signer", leafKey, root, rootKey, false, time.Now().Add(-time.Minute))
	rootFile := e.write("root.pem", string(certPEM(root)))

	buildSigned := func(out string, cert *x509.Certificate) string {
		spec := bundle.Spec{Name: "demo", Version: "1", Created: time.Now(), Output: e.path(out),
			Images: []bundle.ImageSpec{{Ref: e.host + "/samples/tool:1.0"}}}
		_, err := bundle.Build(context.Background(), spec, bundle.BuildOptions{Keys: []bundle.SigningKey{{Signer: leafKey, Certificate: certPEM(cert)}}})
		must(t, err)
		return spec.Output
	}
	good, old := buildSigned("good.tar", current), buildSigned("old.tar", expired)
	provider := fmt.Sprintf(`  trusted_roots = [{ name = "customer-ca", certificate = file(%s) }]`, hcl(rootFile))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: enclaveConfig(provider, good),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.airgap_bundle.b", tfjsonpath.New("signers").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("customer-ca")),
					statecheck.ExpectKnownValue("data.airgap_bundle.b", tfjsonpath.New("signers").AtSliceIndex(0).AtMapKey("subject"), knownvalue.StringExact("CN=release-signer")),
				},
			},
			{Config: enclaveConfig(provider, old), ExpectError: wrapped(`signing certificate "CN=old-signer" expired`)},
		},
	})
}
