package receipt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAndReadFile(t *testing.T) {
	op := newOperatorKey(t, "operator")
	dir := t.TempDir()
	path := filepath.Join(dir, "receipt.json")
	signed, err := Seal(placed(sampleReceipt(0)), op.signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, signed); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".sig"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", p, info.Mode().Perm())
		}
	}
	doc, _ := os.ReadFile(path)
	sig, _ := os.ReadFile(path + ".sig")
	if string(doc) != string(signed.Document) || string(sig) != signed.Signature.Sig {
		t.Fatal("the files are not the document and the signature, byte for byte")
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := back.Verify(*trusting(op)); err != nil || s.Fingerprint != op.fp {
		t.Fatalf("the file copy does not verify: %v", err)
	}

	// An unsigned receipt written over it takes the stale signature away with it.
	unsigned, err := Seal(placed(sampleReceipt(1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, unsigned); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".sig"); !os.IsNotExist(err) {
		t.Fatalf("the signature of the previous receipt is left beside an unsigned one: %v", err)
	}
	back, err = ReadFile(path)
	if err != nil || back.Signature != nil || back.Digest != unsigned.Digest {
		t.Fatalf("unsigned copy: %+v, %v", back, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files are left behind: %v", entries)
	}

	// An edited copy is refused when read.
	if err := os.WriteFile(path, []byte(strings.Replace(string(unsigned.Document), "alice", "Alice", 1)+" "), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), "receipt file "+path+": receipt document is not in canonical form") {
		t.Fatalf("got %v", err)
	}
	// A directory that does not exist is an error naming the file.
	if err := WriteFile(filepath.Join(dir, "absent", "r.json"), unsigned); err == nil || !strings.Contains(err.Error(), "writing receipt file") {
		t.Fatalf("got %v", err)
	}
}
