package receipt

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// SchemaV1 names the document format. A reader refuses any other value rather than guess.
const SchemaV1 = "openairgap.dev/receipt/v1"

// MaxDocumentSize bounds a receipt document: with its signature it must fit one ConfigMap (1 MiB),
// and a reader never parses more than this.
const MaxDocumentSize = 512 << 10

// Action is what an apply did to the workloads it records.
type Action string

const (
	ActionInstall  Action = "install"
	ActionUpgrade  Action = "upgrade"
	ActionRollback Action = "rollback"
	ActionDelete   Action = "delete"
)

// Actions lists every Action, for validators and documentation.
var Actions = []Action{ActionInstall, ActionUpgrade, ActionRollback, ActionDelete}

// Kinds of workload a Release records: a Helm chart release, or a set of plain manifests.
const (
	KindChart    = "chart"
	KindManifest = "manifest"
)

// Kinds lists every release kind, for validators and documentation.
var Kinds = []string{KindChart, KindManifest}

// Receipt records one apply that changed workloads. Its canonical JSON (Marshal) is the document
// that is signed, stored and hashed into the next receipt; field order is declaration order.
type Receipt struct {
	Schema string `json:"schema"`
	// Stream, Sequence and Previous place the receipt in its history: sequences count from 1,
	// and Previous is the Digest of the receipt before it ("" for the first). Append assigns them.
	Stream   string `json:"stream"`
	Sequence uint64 `json:"sequence"`
	Previous string `json:"previous"`
	// Time is when the apply was recorded, in UTC to the second (RFC 3339).
	Time   time.Time `json:"time"`
	Action Action    `json:"action"`
	// Operator says who applied, when the configuration names someone; free text.
	Operator string `json:"operator,omitempty"`
	// Resource is the Terraform resource address that applied, when given.
	Resource string `json:"resource,omitempty"`
	// SignedBy is the fingerprint (signing.Fingerprint) of the operator key that signs this
	// document, or "" for an unsigned receipt. Being inside the signed bytes, it cannot be
	// stripped to pass a signed receipt off as an unsigned one. Append assigns it.
	SignedBy string    `json:"signedBy,omitempty"`
	Bundles  []Bundle  `json:"bundles"`
	Images   []Image   `json:"images"`
	Releases []Release `json:"releases"`
}

// Bundle is a verified bundle the apply used, and whose signatures were accepted.
type Bundle struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	BOMDigest string `json:"bomDigest"` // sha256:<hex> of the BOM, the bytes its signatures cover
	// SHA256 is the hex digest of the bundle file (part 0 of a split bundle), when the caller
	// hashed it; optional, because BOMDigest already pins every byte: the signed BOM lists the
	// SHA-256 of every entry, and a consumer verifies those before it uses one.
	SHA256 string `json:"sha256,omitempty"`
	// Signers are the fingerprints of the keys whose signatures over the BOM were accepted.
	Signers []string `json:"signers"`
}

// Image is one image the workloads run: the reference the configuration named and the
// reference, pinned by digest, that was deployed.
type Image struct {
	Source   string `json:"source"`
	Deployed string `json:"deployed"`
}

// Release is one Helm release or manifest set the apply installed, changed or deleted.
type Release struct {
	Kind      string `json:"kind"` // one of Kinds
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"` // "" for cluster-scoped manifest sets
	// Revision is the Helm release revision, or the manifest set's own counter.
	Revision     int64  `json:"revision"`
	ChartVersion string `json:"chartVersion,omitempty"` // charts only
	// ManifestDigest is sha256:<hex> of the rendered manifests that were applied.
	ManifestDigest string `json:"manifestDigest"`
}

// Canonical returns a copy in canonical form: time in UTC truncated to the second, lists sorted,
// exact duplicates dropped, and absent lists empty rather than nil.
func (r Receipt) Canonical() Receipt {
	r.Time = r.Time.UTC().Truncate(time.Second)
	bundles := slices.Clone(r.Bundles)
	for i := range bundles {
		bundles[i].Signers = sortedUnique(bundles[i].Signers, cmp.Compare[string])
	}
	r.Bundles = sortedUnique(bundles, compareBundles)
	r.Images = sortedUnique(r.Images, compareImages)
	r.Releases = sortedUnique(r.Releases, compareReleases)
	return r
}

// Marshal returns the receipt's document: the canonical JSON that is signed and hashed. It fails
// when the receipt is not valid (see Validate).
func (r Receipt) Marshal() ([]byte, error) {
	r = r.Canonical()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r.marshal()
}

// marshal encodes the receipt as it is, with no normalisation.
func (r Receipt) marshal() ([]byte, error) {
	return json.Marshal(r)
}

// Digest names a document by its SHA-256: "sha256:<hex>". A receipt's Previous is the Digest of
// the document before it.
func Digest(document []byte) string {
	sum := sha256.Sum256(document)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// sortedUnique returns a sorted copy of in without exact duplicates, and never nil.
func sortedUnique[T any](in []T, compare func(a, b T) int) []T {
	out := slices.Clone(in)
	if out == nil {
		out = []T{}
	}
	slices.SortFunc(out, compare)
	return slices.CompactFunc(out, func(a, b T) bool { return compare(a, b) == 0 })
}

func compareBundles(a, b Bundle) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.BOMDigest, b.BOMDigest),
		cmp.Compare(a.SHA256, b.SHA256), slices.Compare(a.Signers, b.Signers))
}

func compareImages(a, b Image) int {
	return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Deployed, b.Deployed))
}

func compareReleases(a, b Release) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Revision, b.Revision), cmp.Compare(a.ChartVersion, b.ChartVersion), cmp.Compare(a.ManifestDigest, b.ManifestDigest))
}
