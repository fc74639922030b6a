package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Parse reads a stored receipt document strictly: it must be valid and byte for byte the canonical
// encoding of what it says. Go's decoder would otherwise accept keys in any case, duplicate keys
// (the last wins) and reordered lists, so a document could read differently from the bytes that
// were signed and hashed; here there is one encoding per receipt.
func Parse(document []byte) (*Receipt, error) {
	if len(document) > MaxDocumentSize {
		return nil, fmt.Errorf("receipt document is %d bytes, more than the %d-byte limit", len(document), MaxDocumentSize)
	}
	dec := json.NewDecoder(bytes.NewReader(document))
	dec.DisallowUnknownFields()
	var r Receipt
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("receipt document is not valid JSON for %s: %w", SchemaV1, err)
	}
	if dec.More() {
		return nil, errors.New("receipt document has data after the JSON object")
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("receipt document: %w", err)
	}
	again, err := r.marshal()
	if err != nil {
		return nil, fmt.Errorf("receipt document: %w", err)
	}
	if !bytes.Equal(again, document) {
		return nil, fmt.Errorf("receipt document is not in canonical form (differs from byte %d): it was not written by this provider, or was edited", firstDifference(again, document))
	}
	return &r, nil
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
