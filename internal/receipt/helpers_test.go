package receipt

import (
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// recorded is the time the sample receipts claim.
var recorded = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// operatorKey is a key made the way an operator's is: cosign's encrypted format, loaded back.
type operatorKey struct {
	name   string
	signer crypto.Signer
	pub    crypto.PublicKey
	pubPEM []byte
	fp     string
}

func newOperatorKey(t testing.TB, name string) operatorKey {
	t.Helper()
	privPEM, pubPEM, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.LoadPrivateKey(privPEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := signing.Fingerprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	return operatorKey{name: name, signer: signer, pub: pub, pubPEM: pubPEM, fp: fp}
}

func trusting(keys ...operatorKey) *signing.Policy {
	p := &signing.Policy{}
	for _, k := range keys {
		p.Keys = append(p.Keys, signing.TrustedKey{Name: k.name, Key: k.pub})
	}
	return p
}

func digestOf(s string) string { return Digest([]byte(s)) }

// sampleReceipt is what an upgrade of a chart from one bundle would record; n varies it.
func sampleReceipt(n int) Receipt {
	return Receipt{
		Time:     recorded.Add(time.Duration(n) * time.Minute),
		Action:   ActionUpgrade,
		Operator: "alice@example.org",
		Resource: "airgap_chart.shop",
		Bundles: []Bundle{{
			Name: "shop", Version: "1.4.0", BOMDigest: digestOf("bom"), SHA256: strings.TrimPrefix(digestOf("file"), "sha256:"),
			Signers: []string{digestOf("vendor key"), digestOf("customer key")},
		}},
		Images: []Image{
			{Source: "ghcr.io/example/shop:1.4.0", Deployed: "registry.enclave:5000/example/shop@" + digestOf("shop")},
			{Source: "docker.io/library/redis:7", Deployed: "registry.enclave:5000/library/redis@" + digestOf("redis")},
		},
		Releases: []Release{{
			Kind: KindChart, Name: "shop", Namespace: "shop", Revision: int64(n + 1), ChartVersion: "1.4.0",
			ManifestDigest: digestOf("rendered " + string(rune('a'+n))),
		}},
	}
}
