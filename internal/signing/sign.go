package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Signature is one signature over a BOM, as a bundle stores it. Sig is exactly what
// `cosign sign-blob` prints: the base64 of an ASN.1 ECDSA signature over the SHA-256 of the BOM
// (or of a plain Ed25519 signature), so it can be handed to `cosign verify-blob` unchanged.
type Signature struct {
	// KeyID is the signing key's fingerprint (see Fingerprint). It is a hint for finding the key
	// and is never trusted on its own: the signature must verify under the key it names.
	KeyID string `json:"keyid,omitempty"`
	Sig   string `json:"sig"`
	// Certificate optionally carries an x509 signing certificate (PEM) whose key made Sig;
	// Chain the intermediates (PEM) up to a root the verifier trusts.
	Certificate string `json:"certificate,omitempty"`
	Chain       string `json:"chain,omitempty"`
}

// Sign signs blob the way `cosign sign-blob --key` does.
func Sign(signer crypto.Signer, blob []byte) (Signature, error) {
	id, err := Fingerprint(signer.Public())
	if err != nil {
		return Signature{}, err
	}
	var raw []byte
	switch signer.Public().(type) {
	case ed25519.PublicKey:
		raw, err = signer.Sign(rand.Reader, blob, crypto.Hash(0))
	default:
		sum := sha256.Sum256(blob)
		raw, err = signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		return Signature{}, fmt.Errorf("signing: %w", err)
	}
	return Signature{KeyID: id, Sig: base64.StdEncoding.EncodeToString(raw)}, nil
}

// SignWithCertificate signs blob and attaches the signing certificate (and its chain), after
// checking that the certificate really holds the signer's public key.
func SignWithCertificate(signer crypto.Signer, certPEM, chainPEM, blob []byte) (Signature, error) {
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return Signature{}, err
	}
	want, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return Signature{}, err
	}
	got, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		return Signature{}, err
	}
	if !bytes.Equal(want, got) {
		return Signature{}, errors.New("the certificate does not hold the private key's public key")
	}
	sig, err := Sign(signer, blob)
	if err != nil {
		return Signature{}, err
	}
	sig.Certificate = string(certPEM)
	sig.Chain = string(chainPEM)
	return sig, nil
}

// DecodeSig accepts a signature as cosign writes it (base64, possibly with surrounding space).
func DecodeSig(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("signature is not base64: %w", err)
	}
	return raw, nil
}

// verifyRaw checks a decoded signature over blob with pub.
func verifyRaw(pub crypto.PublicKey, blob, raw []byte) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(blob)
		if ecdsa.VerifyASN1(k, sum[:], raw) {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(k, blob, raw) {
			return nil
		}
	default:
		return fmt.Errorf("key type %T is not supported", pub)
	}
	return errors.New("signature does not match the BOM")
}

func parseCertificate(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate: %w", err)
	}
	return cert, nil
}

// ParseCertificates reads every PEM CERTIFICATE block in data.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing a certificate: %w", err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}
