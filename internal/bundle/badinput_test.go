package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// Every way a bundle can be wrong, each refused with an error that names what failed. Open must
// refuse what it can see from the head and the file sizes; VerifyPayload the rest.

type badCase struct {
	name    string
	mutate  func(t *testing.T, m *matrix, path string) // damages a copy of the good bundle
	policy  func(m *matrix) signing.Policy             // nil: the vendor policy
	wantErr string
}

type matrix struct {
	f      *fixture
	good   string // a signed bundle
	vendor keyPair
	spec   Spec
}

func TestBadInputMatrix(t *testing.T) {
	f := newFixture(t)
	m := &matrix{f: f, vendor: newKeyPair(t, "vendor")}
	m.spec = f.spec("good.tar")
	build(t, m.spec, m.vendor)
	m.good = m.spec.Output
	stranger := newKeyPair(t, "stranger")

	cases := []badCase{
		{name: "unsigned", wantErr: "the bundle is unsigned", mutate: func(t *testing.T, m *matrix, p string) {
			spec := m.spec
			spec.Output = p
			build(t, spec)
		}},
		{name: "signed by an untrusted key", wantErr: "made by a key that is not trusted", mutate: func(t *testing.T, m *matrix, p string) {
			spec := m.spec
			spec.Output = p
			build(t, spec, stranger)
		}},
		{name: "expired key", wantErr: `trusted key "vendor" expired`, policy: func(m *matrix) signing.Policy {
			p := policyOf(m.vendor)
			p.Keys[0].NotAfter = created
			return p
		}},
		{name: "BOM edited after signing", wantErr: "changed after signing", mutate: func(t *testing.T, m *matrix, p string) {
			head := headOf(t, p)
			i := bytes.Index(head.BOMBytes, []byte(`"version": "1.0.0"`))
			patchAt(t, p, blockSize+int64(i)+len64(`"version": "1.0.`), []byte("1"))
		}},
		{name: "flipped bit in a layer", wantErr: "layer sha256:", mutate: func(t *testing.T, m *matrix, p string) {
			flipIn(t, p, BlobPath(headOf(t, p).BOM.Images[0].Platforms[1].Layers[0]))
		}},
		{name: "flipped bit in a chart", wantErr: "chart web 0.3.0", mutate: func(t *testing.T, m *matrix, p string) {
			flipIn(t, p, headOf(t, p).BOM.Charts[0].Path)
		}},
		{name: "flipped bit in the SBOM", wantErr: "SBOM sbom.cdx.json: content does not match", mutate: func(t *testing.T, m *matrix, p string) {
			flipIn(t, p, SBOMPath)
		}},
		{name: "flipped bit in a manifest", wantErr: "entry manifests/deploy.yaml: content does not match", mutate: func(t *testing.T, m *matrix, p string) {
			flipIn(t, p, "manifests/deploy.yaml")
		}},
		{name: "entry missing", wantErr: "is truncated", mutate: func(t *testing.T, m *matrix, p string) {
			e := entry(t, p, "files/readme.txt")
			cutOut(t, p, payloadAt(t, p, e), entrySpan(e.Size))
		}},
		{name: "extra entry appended", wantErr: "data was added", mutate: func(t *testing.T, m *matrix, p string) {
			appendBytes(t, p, tarEntry(t, "files/extra", []byte("surprise"), tar.TypeReg, ""))
		}},
		{name: "entries reordered", wantErr: "an entry was added, removed or reordered", mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Name = "files/other.txt" })
		}},
		{name: "duplicate entry in the tar", wantErr: `found entry "manifests/deploy.yaml" where the signed BOM puts "files/readme.txt"`, mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Name = "manifests/deploy.yaml" })
		}},
		{name: "duplicate entry in the BOM", wantErr: "is listed twice", mutate: func(t *testing.T, m *matrix, p string) {
			resignHead(t, m, p, func(b *BOM) { b.Entries = append(b.Entries, b.Entries[len(b.Entries)-1]) })
		}},
		{name: "dot-dot path in the tar", wantErr: `found entry "../escape"`, mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Name = "../escape" })
		}},
		{name: "dot-dot path in the BOM", wantErr: `has an unsafe component ".."`, mutate: func(t *testing.T, m *matrix, p string) {
			resignHead(t, m, p, func(b *BOM) { renameEntry(b, "files/readme.txt", "../escape") })
		}},
		{name: "absolute path in the BOM", wantErr: "is absolute", mutate: func(t *testing.T, m *matrix, p string) {
			resignHead(t, m, p, func(b *BOM) { renameEntry(b, "files/readme.txt", "/etc/passwd") })
		}},
		{name: "absolute path in the tar", wantErr: `found entry "/etc/passwd"`, mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Name = "/etc/passwd" })
		}},
		{name: "symlink in the tar", wantErr: "found a symbolic link", mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, "/etc/shadow", 0 })
		}},
		{name: "hard link in the tar", wantErr: "found a hard link", mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Typeflag, h.Linkname, h.Size = tar.TypeLink, "sbom.cdx.json", 0 })
		}},
		{name: "header mode changed", wantErr: "differs from the canonical one", mutate: func(t *testing.T, m *matrix, p string) {
			replaceHeader(t, p, "files/readme.txt", func(h *tar.Header) { h.Mode = 0o4755 })
		}},
		{name: "data hidden in padding", wantErr: "padding after it is not zeros", mutate: func(t *testing.T, m *matrix, p string) {
			e := entry(t, p, "files/readme.txt")
			patchAt(t, p, payloadAt(t, p, e)+blockSize+e.Size+3, []byte{0x42})
		}},
		{name: "truncated file", wantErr: "is truncated", mutate: func(t *testing.T, m *matrix, p string) {
			st, _ := os.Stat(p)
			must(t, os.Truncate(p, st.Size()-700))
		}},
		{name: "truncated inside the head", wantErr: "truncated", mutate: func(t *testing.T, m *matrix, p string) {
			must(t, os.Truncate(p, 1000))
		}},
		{name: "size bomb: BOM entry claims 7 GiB", wantErr: "more than the 67108864-byte limit", mutate: func(t *testing.T, m *matrix, p string) {
			writeFile(t, p, tarEntry(t, BOMPath, nil, tar.TypeReg, "", 7<<30))
		}},
		{name: "size bomb: a payload entry claims 8 GiB", wantErr: "is truncated", mutate: func(t *testing.T, m *matrix, p string) {
			resignHead(t, m, p, func(b *BOM) { growEntry(b, "files/readme.txt", 8<<30-1) })
		}},
		{name: "signature slot garbage", wantErr: "signature slot is not valid", mutate: func(t *testing.T, m *matrix, p string) {
			patchAt(t, p, headOf(t, p).slotOffset, []byte("{not json"))
		}},
		{name: "signature from another bundle", wantErr: "changed after signing", mutate: func(t *testing.T, m *matrix, p string) {
			other := m.spec
			other.Output, other.Version = filepath.Join(t.TempDir(), "other.tar"), "9.9.9"
			build(t, other, m.vendor)
			slot := make([]byte, SignatureSlotSize)
			src, _ := os.Open(other.Output)
			defer src.Close()
			_, err := src.ReadAt(slot, headOf(t, other.Output).slotOffset)
			must(t, err)
			patchAt(t, p, headOf(t, p).slotOffset, slot)
		}},
		{name: "not a tar file", wantErr: "not a bundle", mutate: func(t *testing.T, m *matrix, p string) {
			writeFile(t, p, bytes.Repeat([]byte("garbage!"), 200))
		}},
		{name: "empty file", wantErr: "truncated or empty", mutate: func(t *testing.T, m *matrix, p string) {
			writeFile(t, p, nil)
		}},
		{name: "no trusted key configured", wantErr: "no trusted key or root is configured", policy: func(*matrix) signing.Policy { return signing.Policy{} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bundle.tar")
			copyFile(t, m.good, p)
			if c.mutate != nil {
				c.mutate(t, m, p)
			}
			policy := policyOf(m.vendor)
			if c.policy != nil {
				policy = c.policy(m)
			}
			err := openAndVerify(p, policy)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error = %v\nwant it to contain %q", err, c.wantErr)
			}
		})
	}
}

func TestBadSplitBundles(t *testing.T) {
	f := newFixture(t)
	vendor := newKeyPair(t, "vendor")
	spec := f.spec("split.tar")
	spec.PartSize = MinPartSize
	res := build(t, spec, vendor)
	if len(res.Files) < 4 {
		t.Fatalf("the fixture must give at least 3 payload parts, got %d files", len(res.Files))
	}
	copyParts := func(t *testing.T) (string, []string) {
		dir := t.TempDir()
		var out []string
		for _, p := range res.Files {
			dst := filepath.Join(dir, filepath.Base(p))
			copyFile(t, p, dst)
			out = append(out, dst)
		}
		return filepath.Join(dir, "split.tar"), out
	}
	t.Run("part missing", func(t *testing.T) {
		base, parts := copyParts(t)
		must(t, os.Remove(parts[2]))
		err := openAndVerify(base, policyOf(vendor))
		if err == nil || !strings.Contains(err.Error(), "split.tar.part002 is missing") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("parts out of order", func(t *testing.T) {
		base, parts := copyParts(t)
		must(t, os.Rename(parts[1], parts[1]+".tmp"))
		must(t, os.Rename(parts[2], parts[1]))
		must(t, os.Rename(parts[1]+".tmp", parts[2]))
		err := openAndVerify(base, policyOf(vendor))
		if err == nil || !strings.Contains(err.Error(), "split.tar.part001 holds part 2, not part 1: the parts are out of order") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("part from another medium", func(t *testing.T) {
		base, parts := copyParts(t)
		flipByte(t, parts[2], 100)
		err := openAndVerify(base, policyOf(vendor))
		if err == nil || !strings.Contains(err.Error(), "split.tar.part002 does not match part 2 of the signed BOM") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("extra part", func(t *testing.T) {
		base, parts := copyParts(t)
		copyFile(t, parts[1], PartName(base, len(parts)))
		err := openAndVerify(base, policyOf(vendor))
		if err == nil || !strings.Contains(err.Error(), "extra file") {
			t.Fatalf("error = %v", err)
		}
	})
}

func openAndVerify(path string, policy signing.Policy) error {
	b, err := Open(path, policy)
	if err != nil {
		return err
	}
	defer b.Close()
	return b.VerifyPayload(context.Background())
}

func headOf(t *testing.T, path string) *Head {
	t.Helper()
	h, _, err := ReadHead(path)
	must(t, err)
	return h
}

func entry(t *testing.T, path, name string) Entry {
	t.Helper()
	e, ok := headOf(t, path).BOM.EntryByPath(name)
	if !ok {
		t.Fatalf("no entry %s", name)
	}
	return e
}

// payloadAt is the file offset of an entry's tar header.
func payloadAt(t *testing.T, path string, e Entry) int64 { return headOf(t, path).size + e.Offset }

func flipIn(t *testing.T, path, name string) {
	t.Helper()
	e := entry(t, path, name)
	flipByte(t, path, payloadAt(t, path, e)+blockSize+e.Size/2)
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	must(t, err)
	b[0] ^= 0x01
	_, err = f.WriteAt(b, off)
	must(t, err)
}

func patchAt(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	_, err = f.WriteAt(data, off)
	must(t, err)
}

// replaceHeader rewrites an entry's tar header in place (same 512 bytes), as an attacker would.
func replaceHeader(t *testing.T, path, name string, change func(*tar.Header)) {
	t.Helper()
	e := entry(t, path, name)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Size: e.Size, Mode: 0o644, ModTime: created, Format: tar.FormatUSTAR}
	change(hdr)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(hdr))
	patchAt(t, path, payloadAt(t, path, e), buf.Bytes()[:blockSize])
}

// tarEntry is one tar entry (header, content, padding); a size argument overrides the header's.
func tarEntry(t *testing.T, name string, content []byte, typ byte, link string, size ...int64) []byte {
	t.Helper()
	hdr := &tar.Header{Typeflag: typ, Name: name, Linkname: link, Size: int64(len(content)), Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
	if len(size) > 0 {
		hdr.Size = size[0]
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(hdr))
	buf.Write(content)
	buf.Write(make([]byte, padded(int64(len(content)))-int64(len(content))))
	return buf.Bytes()
}

// resignHead replaces the head with one holding a changed BOM, validly signed by the trusted
// vendor key: what a compromised build pipeline (or a bug) could produce.
func resignHead(t *testing.T, m *matrix, path string, change func(*BOM)) {
	t.Helper()
	head := headOf(t, path)
	var b BOM
	must(t, jsonUnmarshal(head.BOMBytes, &b))
	change(&b)
	bom, err := b.Marshal()
	must(t, err)
	sigs, err := signAll(bom, []SigningKey{m.vendor.signing})
	must(t, err)
	slot, err := encodeSlot(sigs)
	must(t, err)
	newHead, err := headBytes(bom, slot, b.Created)
	must(t, err)
	old, err := os.ReadFile(path)
	must(t, err)
	writeFile(t, path, append(newHead, old[head.size:]...))
}

func renameEntry(b *BOM, from, to string) {
	for i := range b.Entries {
		if b.Entries[i].Path == from {
			b.Entries[i].Path = to
		}
	}
	for i := range b.Files {
		if b.Files[i].Path == from {
			b.Files[i].Path = to
		}
	}
}

// growEntry makes an entry claim size bytes and keeps the BOM's layout consistent, so that only
// the file's real size can give it away.
func growEntry(b *BOM, name string, size int64) {
	var offset int64
	for i := range b.Entries {
		if b.Entries[i].Path == name {
			b.Entries[i].Size = size
		}
		b.Entries[i].Offset = offset
		offset += entrySpan(b.Entries[i].Size)
	}
	b.PayloadSize = offset + trailerSize
}

func cutOut(t *testing.T, path string, off, n int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	writeFile(t, path, append(data[:off:off], data[off+n:]...))
}

func appendBytes(t *testing.T, path string, extra []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	writeFile(t, path, append(data, extra...))
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	must(t, os.WriteFile(path, data, 0o644))
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	must(t, err)
	defer in.Close()
	out, err := os.Create(dst)
	must(t, err)
	_, err = io.Copy(out, in)
	must(t, err)
	must(t, out.Close())
}

func len64(s string) int64 { return int64(len(s)) }
