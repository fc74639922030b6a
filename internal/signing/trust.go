package signing

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// TrustedKey is a public key trusted to sign bundles during a window of time. A zero NotBefore
// or NotAfter leaves that side of the window open.
type TrustedKey struct {
	Name      string
	Key       crypto.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
}

// TrustedRoot is a certificate authority whose signing certificates are trusted; the leaf
// certificate's own validity (NotBefore, NotAfter) bounds each signature made under it.
type TrustedRoot struct {
	Name string
	Cert *x509.Certificate
}

// Policy says whose signatures a bundle needs. Verification refuses to run without at least one
// trusted key or root: there is no mode that accepts an unverified bundle.
type Policy struct {
	Keys  []TrustedKey
	Roots []TrustedRoot
	// Required names keys or roots that must all have signed (a vendor and a customer co-sign, for
	// instance). Empty means one signature from any trusted key or root is enough.
	Required []string
	// Now is the verification clock; nil means time.Now. Tests replace it.
	Now func() time.Time
}

// Signer is one accepted signature.
type Signer struct {
	Name        string // the trusted key's or root's name
	Fingerprint string // the signing key's fingerprint
	Subject     string // the signing certificate's subject, when a certificate was used
}

// ErrNoTrust is returned when a policy has no trusted key or root.
var ErrNoTrust = errors.New("no trusted key or root is configured: refusing to accept any bundle")

// RejectedError says why the signatures on a BOM were not enough, one reason per signature.
type RejectedError struct {
	Reasons  []string // why each signature that did not count was refused
	Missing  []string // required signers with no valid signature
	Unsigned bool
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	switch {
	case e.Unsigned:
		b.WriteString("the bundle is unsigned: it carries no signature over its BOM")
	case len(e.Missing) > 0:
		fmt.Fprintf(&b, "required signer(s) %s did not sign the bundle", strings.Join(e.Missing, ", "))
	default:
		b.WriteString("no signature on the bundle verifies against a trusted key")
	}
	for _, r := range e.Reasons {
		b.WriteString("; ")
		b.WriteString(r)
	}
	return b.String()
}

// Validate checks the policy itself: at least one key or root, unique names, and required names
// that exist.
func (p Policy) Validate() error {
	if len(p.Keys) == 0 && len(p.Roots) == 0 {
		return ErrNoTrust
	}
	names := map[string]bool{}
	for _, k := range p.Keys {
		if err := p.addName(names, k.Name); err != nil {
			return err
		}
		if !k.NotBefore.IsZero() && !k.NotAfter.IsZero() && !k.NotAfter.After(k.NotBefore) {
			return fmt.Errorf("trusted key %q: not_after (%s) must be later than not_before (%s)", k.Name, k.NotAfter.Format(time.RFC3339), k.NotBefore.Format(time.RFC3339))
		}
	}
	for _, r := range p.Roots {
		if err := p.addName(names, r.Name); err != nil {
			return err
		}
	}
	for _, n := range p.Required {
		if !names[n] {
			return fmt.Errorf("required signer %q is not the name of any trusted key or root", n)
		}
	}
	return nil
}

func (p Policy) addName(names map[string]bool, name string) error {
	if name == "" {
		return errors.New("every trusted key and root needs a name")
	}
	if names[name] {
		return fmt.Errorf("trusted name %q is used twice", name)
	}
	names[name] = true
	return nil
}

func (p Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Verify checks every signature over blob and returns the accepted signers, sorted by name. It
// fails unless the policy is satisfied; a signature that does not verify is never "accepted with
// a warning".
func (p Policy) Verify(blob []byte, sigs []Signature) ([]Signer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		return nil, &RejectedError{Unsigned: true}
	}
	now := p.now()
	accepted := map[string]Signer{}
	var reasons []string
	for i, s := range sigs {
		signer, err := p.verifyOne(blob, s, now)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("signature %d%s: %v", i+1, keyHint(s), err))
			continue
		}
		accepted[signer.Name] = signer
	}
	var missing []string
	for _, n := range p.Required {
		if _, ok := accepted[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(accepted) == 0 || len(missing) > 0 {
		return nil, &RejectedError{Reasons: reasons, Missing: missing}
	}
	out := make([]Signer, 0, len(accepted))
	for _, s := range accepted {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func keyHint(s Signature) string {
	if s.KeyID == "" {
		return ""
	}
	return " (key " + s.KeyID + ")"
}

func (p Policy) verifyOne(blob []byte, s Signature, now time.Time) (Signer, error) {
	raw, err := DecodeSig(s.Sig)
	if err != nil {
		return Signer{}, err
	}
	if s.Certificate != "" {
		return p.verifyWithCertificate(blob, raw, s, now)
	}
	// The key ID is only a hint; a signature without one (pasted from cosign sign-blob) is tried
	// against every trusted key.
	var tried []string
	for _, k := range p.Keys {
		fp, err := Fingerprint(k.Key)
		if err != nil {
			return Signer{}, err
		}
		if s.KeyID != "" && s.KeyID != fp {
			continue
		}
		if verifyRaw(k.Key, blob, raw) != nil {
			tried = append(tried, k.Name)
			continue
		}
		if err := checkWindow(k, now); err != nil {
			return Signer{}, err
		}
		return Signer{Name: k.Name, Fingerprint: fp}, nil
	}
	if len(tried) > 0 {
		return Signer{}, fmt.Errorf("does not verify under trusted key %s: the BOM was changed after signing, or the signature is corrupt", strings.Join(tried, ", "))
	}
	return Signer{}, errors.New("made by a key that is not trusted")
}

func checkWindow(k TrustedKey, now time.Time) error {
	if !k.NotAfter.IsZero() && now.After(k.NotAfter) {
		return fmt.Errorf("trusted key %q expired at %s (now %s): re-sign the bundle with a current key", k.Name, k.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !k.NotBefore.IsZero() && now.Before(k.NotBefore) {
		return fmt.Errorf("trusted key %q is not valid before %s (now %s)", k.Name, k.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (p Policy) verifyWithCertificate(blob, raw []byte, s Signature, now time.Time) (Signer, error) {
	leaf, err := parseCertificate([]byte(s.Certificate))
	if err != nil {
		return Signer{}, err
	}
	if err := checkKeyType(leaf.PublicKey); err != nil {
		return Signer{}, err
	}
	if now.After(leaf.NotAfter) {
		return Signer{}, fmt.Errorf("signing certificate %q expired at %s (now %s): re-sign the bundle with a current certificate", leaf.Subject, leaf.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return Signer{}, fmt.Errorf("signing certificate %q is not valid before %s", leaf.Subject, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	intermediates := x509.NewCertPool()
	if s.Chain != "" {
		chain, err := ParseCertificates([]byte(s.Chain))
		if err != nil {
			return Signer{}, fmt.Errorf("certificate chain: %w", err)
		}
		for _, c := range chain {
			intermediates.AddCert(c)
		}
	}
	fp, err := Fingerprint(leaf.PublicKey)
	if err != nil {
		return Signer{}, err
	}
	for _, r := range p.Roots {
		roots := x509.NewCertPool()
		roots.AddCert(r.Cert)
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: intermediates, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageAny},
		})
		if err != nil {
			continue
		}
		if err := verifyRaw(leaf.PublicKey, blob, raw); err != nil {
			return Signer{}, fmt.Errorf("certificate %q chains to trusted root %q but %w", leaf.Subject, r.Name, err)
		}
		return Signer{Name: r.Name, Fingerprint: fp, Subject: leaf.Subject.String()}, nil
	}
	return Signer{}, fmt.Errorf("signing certificate %q does not chain to a trusted root", leaf.Subject)
}
