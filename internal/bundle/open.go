package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// Head is a bundle's BOM and signatures, read but not yet trusted.
type Head struct {
	BOM        *BOM
	BOMBytes   []byte
	BOMDigest  string
	Signatures []signing.Signature
	size       int64 // bytes of the head; the payload starts here
	slotOffset int64
}

// Bundle is an opened bundle whose signatures satisfied the trust policy and whose files have
// the sizes the BOM states. Payload bytes are only read through it.
type Bundle struct {
	Head
	Signers []signing.Signer
	Files   []string
	data    *stream
}

// Open reads the head of the bundle at path (a single file, or the base name or part 0 of a split
// bundle), verifies the signatures over its BOM under policy, and checks that the files have
// exactly the sizes the BOM states. It reads no payload byte: a bundle that fails here was never
// looked into.
func Open(path string, policy signing.Policy) (*Bundle, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	files, err := locate(path)
	if err != nil {
		return nil, err
	}
	head, err := readHeadFile(files[0])
	if err != nil {
		return nil, err
	}
	signers, err := policy.Verify(head.BOMBytes, head.Signatures)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", files[0], err)
	}
	data, err := openStream(files, &head)
	if err != nil {
		return nil, err
	}
	return &Bundle{Head: head, Signers: signers, Files: files, data: data}, nil
}

// Close releases the bundle's files.
func (b *Bundle) Close() error { return b.data.close() }

// ReadHead reads a bundle's head without judging its signatures, for re-signing and inspection.
func ReadHead(path string) (*Head, []string, error) {
	files, err := locate(path)
	if err != nil {
		return nil, nil, err
	}
	head, err := readHeadFile(files[0])
	if err != nil {
		return nil, nil, err
	}
	return &head, files, nil
}

// locate finds the files of a bundle: path itself, or path.part000... for a split bundle.
func locate(path string) ([]string, error) {
	base := strings.TrimSuffix(path, ".part000")
	if base == path {
		if st, err := os.Stat(path); err == nil {
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("bundle %s is not a regular file", path)
			}
			return []string{path}, nil
		}
	}
	var files []string
	for i := 0; i < 1000; i++ {
		p := PartName(base, i)
		st, err := os.Stat(p)
		if err != nil {
			break
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("bundle part %s is not a regular file", p)
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("bundle %s does not exist (nor %s)", path, PartName(base, 0))
	}
	return files, nil
}

// readHeadFile reads and checks the head: the BOM entry, the signature slot, and that both tar
// headers are the canonical ones. It bounds every size before reading.
func readHeadFile(path string) (Head, error) {
	f, err := os.Open(path)
	if err != nil {
		return Head{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	bomHdr, err := nextRegular(tr, BOMPath, path)
	if err != nil {
		return Head{}, err
	}
	if bomHdr.Size > MaxBOMSize {
		return Head{}, fmt.Errorf("bundle %s: %s claims %d bytes, more than the %d-byte limit", path, BOMPath, bomHdr.Size, MaxBOMSize)
	}
	bom := make([]byte, bomHdr.Size)
	if _, err := io.ReadFull(tr, bom); err != nil {
		return Head{}, fmt.Errorf("bundle %s is truncated inside %s: %w", path, BOMPath, err)
	}
	slotHdr, err := nextRegular(tr, SignaturesPath, path)
	if err != nil {
		return Head{}, err
	}
	if slotHdr.Size != SignatureSlotSize {
		return Head{}, fmt.Errorf("bundle %s: %s is %d bytes, expected %d", path, SignaturesPath, slotHdr.Size, SignatureSlotSize)
	}
	slot := make([]byte, SignatureSlotSize)
	if _, err := io.ReadFull(tr, slot); err != nil {
		return Head{}, fmt.Errorf("bundle %s is truncated inside %s: %w", path, SignaturesPath, err)
	}
	parsed, err := ParseBOM(bom)
	if err != nil {
		return Head{}, fmt.Errorf("bundle %s: %w", path, err)
	}
	sigs, err := decodeSlot(slot)
	if err != nil {
		return Head{}, fmt.Errorf("bundle %s: %w", path, err)
	}
	// Every head byte must be what the writer would have produced.
	want, err := headBytes(bom, slot, parsed.Created)
	if err != nil {
		return Head{}, err
	}
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 0); err != nil {
		return Head{}, fmt.Errorf("bundle %s: reading the head: %w", path, err)
	}
	if !bytes.Equal(got, want) {
		return Head{}, fmt.Errorf("bundle %s: the tar headers of %s or %s are not the canonical ones", path, BOMPath, SignaturesPath)
	}
	return Head{
		BOM: parsed, BOMBytes: bom, BOMDigest: digestOf(bom).String(), Signatures: sigs,
		size: int64(len(want)), slotOffset: entrySpan(int64(len(bom))) + blockSize,
	}, nil
}

func nextRegular(tr *tar.Reader, want, path string) (*tar.Header, error) {
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("bundle %s is truncated or empty: expected the entry %s", path, want)
	}
	if err != nil {
		return nil, fmt.Errorf("bundle %s is not a bundle (not a tar archive): %w", path, err)
	}
	if hdr.Name != want {
		return nil, fmt.Errorf("bundle %s: found entry %q where %q must be: not a bundle, or not one this provider wrote", path, hdr.Name, want)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("bundle %s: entry %s is not a regular file", path, want)
	}
	return hdr, nil
}

// TotalSize is the bundle's size in bytes, all parts together.
func (b *Bundle) TotalSize() int64 { return b.size + b.BOM.PayloadSize }
