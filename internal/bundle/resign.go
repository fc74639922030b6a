package bundle

import (
	"context"
	"crypto"
	"fmt"
	"os"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// ExternalSignature is a signature made elsewhere, for example by `cosign sign-blob` with a key
// held in an HSM, together with the public key it must verify under.
type ExternalSignature struct {
	Sig       string
	PublicKey crypto.PublicKey
}

// Resign changes the signatures of an existing bundle without rebuilding it: only the 64 KiB
// signature slot is rewritten, in place, so a stockpiled bundle of any size is re-signed in
// milliseconds plus one payload check.
type Resign struct {
	Keys     []SigningKey
	External []ExternalSignature
	// Remove drops the signatures of these key fingerprints first (an expired vendor key, say).
	Remove []string
	// ReplaceAll drops every existing signature first.
	ReplaceAll bool
}

// AddSignatures applies r to the bundle at path. It first hashes the whole payload against the
// BOM, so that nobody co-signs a bundle whose bytes are not the ones the BOM describes. A new
// signature by a key that already signed replaces the old one.
func AddSignatures(ctx context.Context, path string, r Resign) (*Head, error) {
	b, err := openUnjudged(LocalFiles, path)
	if err != nil {
		return nil, err
	}
	head, files := &b.Head, b.Files
	err = b.VerifyPayload(ctx)
	b.Close()
	if err != nil {
		return nil, fmt.Errorf("not signing bundle %s: %w", path, err)
	}
	added, err := signAll(head.BOMBytes, r.Keys)
	if err != nil {
		return nil, err
	}
	for i, ext := range r.External {
		s, err := importSignature(head.BOMBytes, ext)
		if err != nil {
			return nil, fmt.Errorf("external signature %d: %w", i+1, err)
		}
		added = append(added, s)
	}
	drop := map[string]bool{}
	for _, id := range r.Remove {
		drop[id] = true
	}
	for _, s := range added {
		drop[s.KeyID] = true
	}
	var sigs []signing.Signature
	if !r.ReplaceAll {
		for _, s := range head.Signatures {
			if !drop[s.KeyID] {
				sigs = append(sigs, s)
			}
		}
	}
	sigs = append(sigs, added...)
	slot, err := encodeSlot(sigs)
	if err != nil {
		return nil, err
	}
	if err := writeAt(files[0], slot, head.slotOffset); err != nil {
		return nil, err
	}
	head.Signatures = sigs
	return head, nil
}

// importSignature checks an external signature before storing it, so the slot never holds a
// signature that does not verify under the key it claims.
func importSignature(bom []byte, ext ExternalSignature) (signing.Signature, error) {
	id, err := signing.Fingerprint(ext.PublicKey)
	if err != nil {
		return signing.Signature{}, err
	}
	s := signing.Signature{KeyID: id, Sig: ext.Sig}
	policy := signing.Policy{Keys: []signing.TrustedKey{{Name: "external", Key: ext.PublicKey}}}
	if _, err := policy.Verify(bom, []signing.Signature{s}); err != nil {
		return signing.Signature{}, fmt.Errorf("it does not verify over this bundle's BOM under the given public key: %w", err)
	}
	return s, nil
}

func writeAt(path string, data []byte, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, off); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
