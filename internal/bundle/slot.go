package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// signatureDoc is what the signature slot holds, padded with spaces to SignatureSlotSize.
type signatureDoc struct {
	Signatures []signing.Signature `json:"signatures"`
}

func encodeSlot(sigs []signing.Signature) ([]byte, error) {
	if sigs == nil {
		sigs = []signing.Signature{}
	}
	doc, err := json.Marshal(signatureDoc{Signatures: sigs})
	if err != nil {
		return nil, err
	}
	if len(doc)+1 > SignatureSlotSize {
		return nil, fmt.Errorf("%d signatures take %d bytes, more than the %d-byte signature slot", len(sigs), len(doc), SignatureSlotSize)
	}
	slot := bytes.Repeat([]byte{' '}, SignatureSlotSize)
	copy(slot, doc)
	slot[len(doc)] = '\n'
	return slot, nil
}

func decodeSlot(slot []byte) ([]signing.Signature, error) {
	if len(slot) != SignatureSlotSize {
		return nil, fmt.Errorf("signature slot is %d bytes, expected %d", len(slot), SignatureSlotSize)
	}
	body := bytes.TrimRight(slot, " ")
	body = bytes.TrimSuffix(body, []byte("\n"))
	if bytes.ContainsAny(body, "\x00") {
		return nil, errors.New("signature slot holds binary data")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var doc signatureDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("signature slot is not valid: %w", err)
	}
	if dec.More() {
		return nil, errors.New("signature slot is not valid: data after the JSON document")
	}
	return doc.Signatures, nil
}

// signAll signs the BOM with every key, in order.
func signAll(bom []byte, keys []SigningKey) ([]signing.Signature, error) {
	var sigs []signing.Signature
	for i, k := range keys {
		var s signing.Signature
		var err error
		if len(k.Certificate) > 0 {
			s, err = signing.SignWithCertificate(k.Signer, k.Certificate, k.Chain, bom)
		} else {
			s, err = signing.Sign(k.Signer, bom)
		}
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i+1, err)
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// headBytes is part 0: the BOM entry and the signature slot entry.
func headBytes(bom, slot []byte, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	for _, e := range []struct {
		name string
		data []byte
	}{{BOMPath, bom}, {SignaturesPath, slot}} {
		hdr, err := tarHeader(e.name, int64(len(e.data)), created)
		if err != nil {
			return nil, err
		}
		buf.Write(hdr)
		buf.Write(e.data)
		buf.Write(make([]byte, padded(int64(len(e.data)))-int64(len(e.data))))
	}
	return buf.Bytes(), nil
}
