package bundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// smallBundle builds a signed bundle of two files, small enough to seed the fuzzers.
func smallBundle(t testing.TB, dir string, k keyPair) string {
	for name, content := range map[string]string{"a.txt": "alpha\n", "b.txt": "bravo bravo\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec := Spec{Name: "seed", Version: "1", Created: created, Output: filepath.Join(dir, "seed.tar"),
		Files: []FileSpec{{Name: "a.txt", Source: filepath.Join(dir, "a.txt")}, {Name: "b.txt", Source: filepath.Join(dir, "b.txt")}}}
	if _, err := Build(context.Background(), spec, BuildOptions{Keys: []SigningKey{k.signing}}); err != nil {
		t.Fatal(err)
	}
	return spec.Output
}

// FuzzParseBOM: no input may panic the parser, and whatever it accepts must be a layout that
// validates and survives a round trip.
func FuzzParseBOM(f *testing.F) {
	k := newKeyPair(&testing.T{}, "vendor")
	head, _, err := ReadHead(smallBundle(f, f.TempDir(), k))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(head.BOMBytes)
	f.Add([]byte(`{"format":"openairgap.dev/bundle/v1","name":"x","entries":[],"payloadSize":1024,"sbom":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBOM(data)
		if err != nil {
			return
		}
		again, err := b.Marshal()
		if err != nil {
			t.Fatalf("accepted BOM does not marshal: %v", err)
		}
		if _, err := ParseBOM(again); err != nil {
			t.Fatalf("accepted BOM does not parse after a round trip: %v", err)
		}
	})
}

// FuzzOpenBundle: arbitrary bytes as a bundle file must be refused cleanly (or, if they verify,
// only because they are the seed), never panic or read out of bounds.
func FuzzOpenBundle(f *testing.F) {
	k := newKeyPair(&testing.T{}, "vendor")
	seed, err := os.ReadFile(smallBundle(f, f.TempDir(), k))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	policy := policyOf(k)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "b.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := Open(p, policy)
		if err != nil {
			return
		}
		defer b.Close()
		_ = b.VerifyPayload(context.Background())
	})
}
