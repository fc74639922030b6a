package receipt

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	hexA = strings.Repeat("a", 64)
	hexB = strings.Repeat("b", 64)
	hexC = strings.Repeat("c", 64)
)

// small is a receipt whose canonical document is short enough to write out by hand.
func small() Receipt {
	return Receipt{
		Schema: SchemaV1, Stream: "prod", Sequence: 2, Previous: "sha256:" + hexA,
		Time:   time.Date(2026, 1, 2, 4, 4, 5, 999, time.FixedZone("CET", 3600)),
		Action: ActionInstall,
		Bundles: []Bundle{{Name: "app", Version: "1", BOMDigest: "sha256:" + hexB, SHA256: hexC,
			Signers: []string{"sha256:" + hexC, "sha256:" + hexB}}},
		Images: []Image{
			{Source: "reg.example/b:1", Deployed: "r.local/b@sha256:" + hexB},
			{Source: "reg.example/a:1", Deployed: "r.local/a@sha256:" + hexA},
			{Source: "reg.example/a:1", Deployed: "r.local/a@sha256:" + hexA},
		},
		Releases: nil,
	}
}

func TestMarshalIsCanonical(t *testing.T) {
	doc, err := small().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Fields in declaration order, time in UTC to the second, lists sorted, the duplicate image
	// dropped, the absent list empty, optional fields omitted.
	want := `{"schema":"openairgap.dev/receipt/v1","stream":"prod","sequence":2,"previous":"sha256:A",` +
		`"time":"2026-01-02T03:04:05Z","action":"install",` +
		`"bundles":[{"name":"app","version":"1","bomDigest":"sha256:B","sha256":"C","signers":["sha256:B","sha256:C"]}],` +
		`"images":[{"source":"reg.example/a:1","deployed":"r.local/a@sha256:A"},{"source":"reg.example/b:1","deployed":"r.local/b@sha256:B"}],` +
		`"releases":[]}`
	want = strings.NewReplacer("A", hexA, "B", hexB, "C", hexC).Replace(want)
	if string(doc) != want {
		t.Fatalf("document\n%s\nwant\n%s", doc, want)
	}
	// Marshal leaves the caller's slices alone.
	if r := small(); r.Bundles[0].Signers[0] != "sha256:"+hexC || r.Images[0].Source != "reg.example/b:1" {
		t.Fatal("Marshal reordered the caller's lists")
	}
	parsed, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*parsed, small().Canonical()) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", *parsed, small().Canonical())
	}
	again, _ := parsed.Marshal()
	if !bytes.Equal(again, doc) {
		t.Fatal("a parsed receipt does not marshal to the same bytes")
	}
}

// A bundle's file digest is optional (the BOM digest pins every byte): without it the key is
// left out of the document, and a document that spells it empty is not canonical.
func TestBundleFileDigestIsOptional(t *testing.T) {
	r := small()
	r.Bundles[0].SHA256 = ""
	doc, err := r.Marshal()
	if err != nil {
		t.Fatalf("a bundle without a file digest is refused: %v", err)
	}
	if strings.Contains(string(doc), `"sha256":`) {
		t.Fatalf("the document names an absent file digest: %s", doc)
	}
	parsed, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*parsed, r.Canonical()) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", *parsed, r.Canonical())
	}
	spelled := strings.Replace(string(doc), `"signers"`, `"sha256":"","signers"`, 1)
	if _, err := Parse([]byte(spelled)); err == nil || !strings.Contains(err.Error(), "not in canonical form") {
		t.Fatalf("an empty file digest spelled out: got %v, want not in canonical form", err)
	}
}

func TestParseRefusesWhatWasNotWrittenThisWay(t *testing.T) {
	doc, err := small().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	good := string(doc)
	if _, err := Parse(doc); err != nil {
		t.Fatalf("the canonical document itself is refused: %v", err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("the document lacks %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"indented", strings.Replace(good, ",", ", ", 1), "not in canonical form (differs from byte 38)"},
		{"trailing newline", good + "\n", "not in canonical form"},
		{"second document", good + "{}", "data after the JSON object"},
		{"key in another case", edit(`"action"`, `"Action"`), "not in canonical form"},
		{"duplicate key, the last would win", edit(`"action":"install"`, `"action":"delete","action":"install"`), "not in canonical form"},
		{"keys reordered", edit(`"stream":"prod","sequence":2`, `"sequence":2,"stream":"prod"`), "not in canonical form"},
		{"unknown field", edit(`"action":"install"`, `"action":"install","note":"x"`), `unknown field "note"`},
		{"images unsorted", edit(`{"source":"reg.example/a:1","deployed":"r.local/a@sha256:`+hexA+`"},{"source":"reg.example/b:1","deployed":"r.local/b@sha256:`+hexB+`"}`,
			`{"source":"reg.example/b:1","deployed":"r.local/b@sha256:`+hexB+`"},{"source":"reg.example/a:1","deployed":"r.local/a@sha256:`+hexA+`"}`), "images[1]: the list is not sorted"},
		{"time with an offset", edit(`2026-01-02T03:04:05Z`, `2026-01-02T04:04:05+01:00`), "want UTC to the second"},
		{"time with a fraction", edit(`2026-01-02T03:04:05Z`, `2026-01-02T03:04:05.5Z`), "want UTC to the second"},
		{"null list", edit(`"releases":[]`, `"releases":null`), "releases is null"},
		{"another schema", edit(`receipt/v1`, `receipt/v2`), `schema is "openairgap.dev/receipt/v2"`},
		{"negative sequence", edit(`"sequence":2`, `"sequence":-2`), "not valid JSON"},
		{"not JSON", "receipt", "not valid JSON"},
		{"empty", "", "not valid JSON"},
		{"null", "null", "schema is \"\""},
		{"too large", good[:len(good)-1] + strings.Repeat(" ", MaxDocumentSize) + "}", "more than the 524288-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Receipt)
		want string
	}{
		{"no stream", func(r *Receipt) { r.Stream = "" }, `stream ""`},
		{"stream not a DNS label", func(r *Receipt) { r.Stream = "Prod_1" }, `stream "Prod_1"`},
		{"sequence 0", func(r *Receipt) { r.Sequence = 0 }, "sequence is 0"},
		{"first with a previous", func(r *Receipt) { r.Sequence = 1 }, "sequence 1 has no previous"},
		{"later without a previous", func(r *Receipt) { r.Previous = "" }, "the digest of receipt 1"},
		{"no time", func(r *Receipt) { r.Time = time.Time{} }, "time is not set"},
		{"unknown action", func(r *Receipt) { r.Action = "apply" }, `action is "apply": want one of [install upgrade rollback delete]`},
		{"control character in operator", func(r *Receipt) { r.Operator = "alice\x1b[2J" }, "operator"},
		{"invalid UTF-8 in resource", func(r *Receipt) { r.Resource = "airgap_chart.\xff" }, "resource is not valid UTF-8"},
		{"signedBy not a fingerprint", func(r *Receipt) { r.SignedBy = "alice" }, "signedBy"},
		{"nothing recorded", func(r *Receipt) { r.Bundles, r.Images, r.Releases = []Bundle{}, []Image{}, []Release{} }, "records nothing"},
		{"bundle without a name", func(r *Receipt) { r.Bundles[0].Name = "" }, "bundles[0]: name is empty"},
		{"bundle digest", func(r *Receipt) { r.Bundles[0].BOMDigest = hexA }, `bundles[0]: bomDigest of bundle "app"`},
		{"bundle file digest", func(r *Receipt) { r.Bundles[0].SHA256 = "sha256:" + hexA }, `bundles[0]: sha256 of bundle "app"`},
		{"bundle without signers", func(r *Receipt) { r.Bundles[0].Signers = []string{} }, `signers of bundle "app" is empty`},
		{"signer not a fingerprint", func(r *Receipt) { r.Bundles[0].Signers = []string{"vendor"} }, `bundles[0]: signers[0]: "vendor" is not a key fingerprint`},
		{"same bundle twice", func(r *Receipt) {
			r.Bundles = append(r.Bundles, r.Bundles[0])
			r.Bundles[1].Version = "2"
		}, "bundles[0] and bundles[1] both have bomDigest"},
		{"source without a registry", func(r *Receipt) { r.Images[0].Source = "redis:7" }, `images[0]: source "redis:7"`},
		{"deployed by tag", func(r *Receipt) { r.Images[0].Deployed = "r.local/a:1" }, `images[1]: deployed "r.local/a:1": want REGISTRY/REPOSITORY@sha256:<digest>`},
		{"release kind", func(r *Receipt) {
			r.Releases = []Release{{Kind: "kustomize", Name: "x", ManifestDigest: "sha256:" + hexA}}
		}, `releases[0]: kind is "kustomize"`},
		{"release name", func(r *Receipt) {
			r.Releases = []Release{{Kind: KindManifest, Name: "X Y", ManifestDigest: "sha256:" + hexA}}
		}, `releases[0]: name "X Y"`},
		{"release namespace", func(r *Receipt) {
			r.Releases = []Release{{Kind: KindManifest, Name: "x", Namespace: "a.b", ManifestDigest: "sha256:" + hexA}}
		}, `releases[0]: namespace of manifest "x"`},
		{"chart without version", func(r *Receipt) {
			r.Releases = []Release{{Kind: KindChart, Name: "x", Revision: 1, ManifestDigest: "sha256:" + hexA}}
		}, `chartVersion of chart "x" is empty`},
		{"manifest with a chart version", func(r *Receipt) {
			r.Releases = []Release{{Kind: KindManifest, Name: "x", ChartVersion: "1", ManifestDigest: "sha256:" + hexA}}
		}, `chartVersion is set on manifest "x"`},
		{"negative revision", func(r *Receipt) {
			r.Releases = []Release{{Kind: KindManifest, Name: "x", Revision: -1, ManifestDigest: "sha256:" + hexA}}
		}, "revision of manifest \"x\" is -1"},
		{"manifest digest", func(r *Receipt) { r.Releases = []Release{{Kind: KindManifest, Name: "x"}} }, `manifestDigest of manifest "x"`},
		{"same release twice", func(r *Receipt) {
			r.Releases = []Release{{Kind: KindManifest, Name: "x", Revision: 1, ManifestDigest: "sha256:" + hexA}, {Kind: KindManifest, Name: "x", Revision: 2, ManifestDigest: "sha256:" + hexA}}
		}, `releases[0] and releases[1] are both manifest "x"`},
	}
	base := small()
	if _, err := base.Marshal(); err != nil {
		t.Fatalf("the base receipt is refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := small()
			tt.edit(&r)
			_, err := r.Marshal()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
