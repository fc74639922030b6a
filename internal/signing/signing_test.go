package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newKey(t *testing.T) (crypto.Signer, crypto.PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := LoadPrivateKey(privPEM, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func TestLoadPrivateKey(t *testing.T) {
	privPEM, _, err := GenerateKeyPair([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(privPEM), "BEGIN ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("not cosign's PEM type:\n%s", privPEM)
	}
	if _, err := LoadPrivateKey(privPEM, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("wrong password: got %v", err)
	}
	if _, err := LoadPrivateKey([]byte("garbage"), nil); err == nil || !strings.Contains(err.Error(), "no PEM block") {
		t.Fatalf("garbage: got %v", err)
	}
	plain := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
	if _, err := LoadPrivateKey(plain, nil); err == nil || !strings.Contains(err.Error(), "expected") {
		t.Fatalf("plain PEM: got %v", err)
	}
}

func TestVerifyPolicies(t *testing.T) {
	vendor, vendorPub := newKey(t)
	customer, customerPub := newKey(t)
	stranger, _ := newKey(t)
	bom := []byte(`{"name":"demo"}`)
	sign := func(k crypto.Signer) Signature {
		s, err := Sign(k, bom)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	noID := sign(vendor)
	noID.KeyID = ""
	keys := []TrustedKey{{Name: "vendor", Key: vendorPub}, {Name: "customer", Key: customerPub}}
	at := func() time.Time { return t0 }

	cases := []struct {
		name    string
		policy  Policy
		blob    []byte
		sigs    []Signature
		want    []string // accepted signer names
		wantErr string
	}{
		{"vendor alone", Policy{Keys: keys, Now: at}, bom, []Signature{sign(vendor)}, []string{"vendor"}, ""},
		{"cosign signature without key id", Policy{Keys: keys, Now: at}, bom, []Signature{noID}, []string{"vendor"}, ""},
		{"co-signed", Policy{Keys: keys, Required: []string{"vendor", "customer"}, Now: at}, bom, []Signature{sign(vendor), sign(customer)}, []string{"customer", "vendor"}, ""},
		{"co-sign missing", Policy{Keys: keys, Required: []string{"vendor", "customer"}, Now: at}, bom, []Signature{sign(vendor)}, nil, "required signer(s) customer did not sign"},
		{"unsigned", Policy{Keys: keys, Now: at}, bom, nil, nil, "unsigned"},
		{"untrusted key", Policy{Keys: keys, Now: at}, bom, []Signature{sign(stranger)}, nil, "not trusted"},
		{"BOM edited after signing", Policy{Keys: keys, Now: at}, []byte(`{"name":"demo2"}`), []Signature{sign(vendor)}, nil, "changed after signing"},
		{"no trust configured", Policy{Now: at}, bom, []Signature{sign(vendor)}, nil, "no trusted key"},
		{"expired key", Policy{Keys: []TrustedKey{{Name: "vendor", Key: vendorPub, NotAfter: t0.Add(-time.Hour)}}, Now: at}, bom, []Signature{sign(vendor)}, nil, `trusted key "vendor" expired`},
		{"key not yet valid", Policy{Keys: []TrustedKey{{Name: "vendor", Key: vendorPub, NotBefore: t0.Add(time.Hour)}}, Now: at}, bom, []Signature{sign(vendor)}, nil, "not valid before"},
		{"key inside window", Policy{Keys: []TrustedKey{{Name: "vendor", Key: vendorPub, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}}, Now: at}, bom, []Signature{sign(vendor)}, []string{"vendor"}, ""},
		{"one bad one good", Policy{Keys: keys, Now: at}, bom, []Signature{sign(stranger), sign(vendor)}, []string{"vendor"}, ""},
		{"corrupt base64", Policy{Keys: keys, Now: at}, bom, []Signature{{Sig: "%%%"}}, nil, "not base64"},
		{"required name unknown", Policy{Keys: keys, Required: []string{"nobody"}, Now: at}, bom, []Signature{sign(vendor)}, nil, `"nobody" is not the name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.policy.Verify(c.blob, c.sigs)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
				if !strings.HasPrefix(s.Fingerprint, "sha256:") {
					t.Errorf("fingerprint %q", s.Fingerprint)
				}
			}
			if strings.Join(names, ",") != strings.Join(c.want, ",") {
				t.Fatalf("accepted %v, want %v", names, c.want)
			}
		})
	}
}

// certFor issues a certificate for pub, signed by parent (self-signed when parent is nil).
func certFor(t *testing.T, cn string, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, ca bool, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.Add(-24 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: ca,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func TestVerifyCertificates(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := certFor(t, "customer root", rootKey.Public(), nil, rootKey, true, t0.Add(365*24*time.Hour))
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	inter := certFor(t, "signing CA", interKey.Public(), root, rootKey, true, t0.Add(300*24*time.Hour))
	leafKey, _ := newKey(t)
	leaf := certFor(t, "release signer", leafKey.Public(), inter, interKey, false, t0.Add(30*24*time.Hour))
	oldLeaf := certFor(t, "old signer", leafKey.Public(), inter, interKey, false, t0.Add(-time.Hour))
	otherRootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRoot := certFor(t, "other root", otherRootKey.Public(), nil, otherRootKey, true, t0.Add(365*24*time.Hour))

	bom := []byte(`{"name":"demo"}`)
	good, err := SignWithCertificate(leafKey, pemOf(leaf), pemOf(inter), bom)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := SignWithCertificate(leafKey, pemOf(oldLeaf), pemOf(inter), bom)
	if err != nil {
		t.Fatal(err)
	}
	at := func() time.Time { return t0 }
	trusted := Policy{Roots: []TrustedRoot{{Name: "customer", Cert: root}}, Now: at}

	got, err := trusted.Verify(bom, []Signature{good})
	if err != nil || len(got) != 1 || got[0].Name != "customer" || !strings.Contains(got[0].Subject, "release signer") {
		t.Fatalf("good chain: %v %v", got, err)
	}
	if _, err := trusted.Verify(bom, []Signature{expired}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired leaf: %v", err)
	}
	later := trusted
	later.Now = func() time.Time { return t0.Add(31 * 24 * time.Hour) }
	if _, err := later.Verify(bom, []Signature{good}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("leaf past NotAfter: %v", err)
	}
	wrongRoot := Policy{Roots: []TrustedRoot{{Name: "other", Cert: otherRoot}}, Now: at}
	if _, err := wrongRoot.Verify(bom, []Signature{good}); err == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("wrong root: %v", err)
	}
	if _, err := trusted.Verify([]byte("edited"), []Signature{good}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("edited BOM under cert: %v", err)
	}
	other, _ := newKey(t)
	if _, err := SignWithCertificate(other, pemOf(leaf), nil, bom); err == nil {
		t.Fatal("signing with a key that is not the certificate's must fail")
	}
	var rej *RejectedError
	if _, err := trusted.Verify(bom, nil); !errors.As(err, &rej) || !rej.Unsigned {
		t.Fatalf("unsigned: %v", err)
	}
}
