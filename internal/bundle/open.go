package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	seal    *seal // set by a successful VerifyPayload
}

// Open reads the head of the bundle at path (a single file, or the base name or part 0 of a split
// bundle) from the local filesystem; see OpenFrom.
func Open(path string, policy signing.Policy) (*Bundle, error) {
	return OpenFrom(LocalFiles, path, policy)
}

// OpenFrom reads the head of a bundle from store, checks that its files have exactly the sizes
// the BOM states, and verifies the signatures over the BOM under policy. It reads no payload byte:
// a bundle that fails here was never looked into.
func OpenFrom(store Store, name string, policy signing.Policy) (*Bundle, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	b, err := openUnjudged(store, name)
	if err != nil {
		return nil, err
	}
	if b.Signers, err = policy.Verify(b.BOMBytes, b.Signatures); err != nil {
		b.Close()
		return nil, fmt.Errorf("bundle %s: %w", b.Files[0], err)
	}
	return b, nil
}

// Close releases the bundle's files.
func (b *Bundle) Close() error { return b.data.close() }

// ReadHead reads a local bundle's head without judging its signatures, for re-signing and
// inspection.
func ReadHead(path string) (*Head, []string, error) {
	files, names, err := locate(LocalFiles, path)
	if err != nil {
		return nil, nil, err
	}
	defer closeAll(files)
	head, err := readHead(files[0], names[0])
	if err != nil {
		return nil, nil, err
	}
	return &head, names, nil
}

// locate opens the files of a bundle: name itself, or name.part000... for a split bundle.
func locate(store Store, name string) ([]StoreFile, []string, error) {
	base := strings.TrimSuffix(name, ".part000")
	if base == name {
		f, err := store.Open(name)
		if err == nil {
			return []StoreFile{f}, []string{name}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	var files []StoreFile
	var names []string
	for i := 0; i < 1000; i++ {
		p := PartName(base, i)
		f, err := store.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			closeAll(files)
			return nil, nil, err
		}
		files, names = append(files, f), append(names, p)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("bundle %s does not exist (nor %s): %w", name, PartName(base, 0), fs.ErrNotExist)
	}
	return files, names, nil
}

func closeAll(files []StoreFile) {
	for _, f := range files {
		f.Close()
	}
}

// readHead reads and checks the head in two reads (the first header, then the whole head): the
// BOM entry, the signature slot, and that both tar headers are the canonical ones. Every size is
// bounded before anything it describes is read.
func readHead(f StoreFile, name string) (Head, error) {
	first := make([]byte, blockSize)
	if n, _ := f.ReadAt(first, 0); n < blockSize {
		return Head{}, fmt.Errorf("bundle %s is truncated or empty: expected the entry %s", name, BOMPath)
	}
	bomHdr, err := nextRegular(tar.NewReader(bytes.NewReader(first)), BOMPath, name)
	if err != nil {
		return Head{}, err
	}
	if bomHdr.Size > MaxBOMSize {
		return Head{}, fmt.Errorf("bundle %s: %s claims %d bytes, more than the %d-byte limit", name, BOMPath, bomHdr.Size, MaxBOMSize)
	}
	size := headSize(bomHdr.Size)
	if f.Size() < size {
		return Head{}, fmt.Errorf("bundle %s is truncated inside its head: %d bytes, the head alone needs %d", name, f.Size(), size)
	}
	raw := make([]byte, size)
	copy(raw, first)
	if _, err := f.ReadAt(raw[blockSize:], blockSize); err != nil && !(errors.Is(err, io.EOF) && f.Size() == size) {
		return Head{}, fmt.Errorf("bundle %s: reading the head: %w", name, err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	if _, err := nextRegular(tr, BOMPath, name); err != nil {
		return Head{}, err
	}
	bom := make([]byte, bomHdr.Size)
	if _, err := io.ReadFull(tr, bom); err != nil {
		return Head{}, fmt.Errorf("bundle %s is truncated inside %s: %w", name, BOMPath, err)
	}
	slotHdr, err := nextRegular(tr, SignaturesPath, name)
	if err != nil {
		return Head{}, err
	}
	if slotHdr.Size != SignatureSlotSize {
		return Head{}, fmt.Errorf("bundle %s: %s is %d bytes, expected %d", name, SignaturesPath, slotHdr.Size, SignatureSlotSize)
	}
	slot := make([]byte, SignatureSlotSize)
	if _, err := io.ReadFull(tr, slot); err != nil {
		return Head{}, fmt.Errorf("bundle %s is truncated inside %s: %w", name, SignaturesPath, err)
	}
	parsed, err := ParseBOM(bom)
	if err != nil {
		return Head{}, fmt.Errorf("bundle %s: %w", name, err)
	}
	sigs, err := decodeSlot(slot)
	if err != nil {
		return Head{}, fmt.Errorf("bundle %s: %w", name, err)
	}
	// Every head byte must be what the writer would have produced.
	want, err := headBytes(bom, slot, parsed.Created)
	if err != nil {
		return Head{}, err
	}
	if !bytes.Equal(raw, want) {
		return Head{}, fmt.Errorf("bundle %s: the tar headers of %s or %s are not the canonical ones", name, BOMPath, SignaturesPath)
	}
	return Head{
		BOM: parsed, BOMBytes: bom, BOMDigest: digestOf(bom).String(), Signatures: sigs,
		size: size, slotOffset: entrySpan(int64(len(bom))) + blockSize,
	}, nil
}

func nextRegular(tr *tar.Reader, want, name string) (*tar.Header, error) {
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("bundle %s is truncated or empty: expected the entry %s", name, want)
	}
	if err != nil {
		return nil, fmt.Errorf("bundle %s is not a bundle (not a tar archive): %w", name, err)
	}
	if hdr.Name != want {
		return nil, fmt.Errorf("bundle %s: found entry %q where %q must be: not a bundle, or not one this provider wrote", name, hdr.Name, want)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("bundle %s: entry %s is not a regular file", name, want)
	}
	return hdr, nil
}

// TotalSize is the bundle's size in bytes, all parts together.
func (b *Bundle) TotalSize() int64 { return b.size + b.BOM.PayloadSize }
