package receipt

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/validation"
)

var (
	ociDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Limits on free text: enough for a name or an address, not for a payload.
const (
	maxTextLen  = 1024
	maxMetaName = 253
)

// Validate checks a receipt in canonical form (see Canonical). Every error names the field.
func (r Receipt) Validate() error {
	if r.Schema != SchemaV1 {
		return fmt.Errorf("schema is %q: this provider reads %q only (a newer provider wrote it?)", r.Schema, SchemaV1)
	}
	if err := validateStreamName(r.Stream); err != nil {
		return err
	}
	switch {
	case r.Sequence == 0:
		return errors.New("sequence is 0: sequences count from 1")
	case r.Sequence == 1 && r.Previous != "":
		return fmt.Errorf("previous is %q but sequence 1 has no previous receipt", r.Previous)
	case r.Sequence > 1 && !ociDigest.MatchString(r.Previous):
		return fmt.Errorf("previous is %q: want sha256:<64 hex digits>, the digest of receipt %d", r.Previous, r.Sequence-1)
	}
	if err := validateTime(r.Time); err != nil {
		return err
	}
	if !slices.Contains(Actions, r.Action) {
		return fmt.Errorf("action is %q: want one of %v", r.Action, Actions)
	}
	if err := validateText("operator", r.Operator); err != nil {
		return err
	}
	if err := validateText("resource", r.Resource); err != nil {
		return err
	}
	if r.SignedBy != "" && !ociDigest.MatchString(r.SignedBy) {
		return fmt.Errorf("signedBy is %q: want a key fingerprint, sha256:<64 hex digits>", r.SignedBy)
	}
	if len(r.Bundles)+len(r.Images)+len(r.Releases) == 0 {
		return errors.New("the receipt records nothing: give at least one bundle, image or release")
	}
	if err := validateList("bundles", r.Bundles, compareBundles, validateBundle); err != nil {
		return err
	}
	if err := validateList("images", r.Images, compareImages, validateImage); err != nil {
		return err
	}
	if err := validateList("releases", r.Releases, compareReleases, validateRelease); err != nil {
		return err
	}
	return r.checkDuplicates()
}

// checkDuplicates refuses two entries for one thing: a bundle (by BOM digest) or a release (by
// kind, namespace and name) recorded twice with different details cannot both be true.
func (r Receipt) checkDuplicates() error {
	seen := map[string]int{}
	for i, b := range r.Bundles {
		if j, ok := seen[b.BOMDigest]; ok {
			return fmt.Errorf("bundles[%d] and bundles[%d] both have bomDigest %s", j, i, b.BOMDigest)
		}
		seen[b.BOMDigest] = i
	}
	for i := 1; i < len(r.Releases); i++ {
		a, b := r.Releases[i-1], r.Releases[i]
		if a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name {
			return fmt.Errorf("releases[%d] and releases[%d] are both %s %q in namespace %q", i-1, i, b.Kind, b.Name, b.Namespace)
		}
	}
	return nil
}

func validateStreamName(s string) error {
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		return fmt.Errorf("stream %q: %s", s, errs[0])
	}
	return nil
}

func validateTime(t time.Time) error {
	switch {
	case t.IsZero():
		return errors.New("time is not set")
	case t.Location() != time.UTC || t.Nanosecond() != 0:
		return fmt.Errorf("time %s: want UTC to the second, such as %s", t.Format(time.RFC3339Nano), t.UTC().Truncate(time.Second).Format(time.RFC3339))
	case t.Year() < 2000 || t.Year() > 9999:
		return fmt.Errorf("time %s is out of range", t.Format(time.RFC3339))
	}
	return nil
}

// validateText admits printable UTF-8 of bounded length: these strings end up in logs and plans.
func validateText(field, s string) error {
	if len(s) > maxTextLen {
		return fmt.Errorf("%s is %d bytes: at most %d", field, len(s), maxTextLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("%s %q holds the non-printable character %U", field, s, c)
		}
	}
	return nil
}

// validateList checks each item and that the list is sorted without duplicates, as Canonical
// leaves it: a document in any other order is not the one that was signed.
func validateList[T any](field string, items []T, compare func(a, b T) int, check func(T) error) error {
	if items == nil {
		return fmt.Errorf("%s is null: want a list, [] when empty", field)
	}
	for i, it := range items {
		if err := check(it); err != nil {
			return fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		if i > 0 && compare(items[i-1], it) >= 0 {
			return fmt.Errorf("%s[%d]: the list is not sorted or holds a duplicate (use Canonical)", field, i)
		}
	}
	return nil
}

func validateBundle(b Bundle) error {
	if err := validateText("name", b.Name); err != nil {
		return err
	}
	if b.Name == "" {
		return errors.New("name is empty")
	}
	if err := validateText("version", b.Version); err != nil {
		return err
	}
	if !ociDigest.MatchString(b.BOMDigest) {
		return fmt.Errorf("bomDigest of bundle %q is %q: want sha256:<64 hex digits>", b.Name, b.BOMDigest)
	}
	if b.SHA256 != "" && !hexDigest.MatchString(b.SHA256) {
		return fmt.Errorf("sha256 of bundle %q is %q: want 64 lowercase hex digits", b.Name, b.SHA256)
	}
	if len(b.Signers) == 0 {
		return fmt.Errorf("signers of bundle %q is empty: a bundle is used only when a trusted signature was accepted", b.Name)
	}
	return validateList("signers", b.Signers, cmp.Compare[string], func(s string) error {
		if !ociDigest.MatchString(s) {
			return fmt.Errorf("%q is not a key fingerprint (sha256:<64 hex digits>)", s)
		}
		return nil
	})
}

func validateImage(im Image) error {
	if err := validateText("source", im.Source); err != nil {
		return err
	}
	if _, err := name.ParseReference(im.Source, name.StrictValidation); err != nil {
		return fmt.Errorf("source %q: %w", im.Source, err)
	}
	if err := validateText("deployed", im.Deployed); err != nil {
		return err
	}
	if _, err := name.NewDigest(im.Deployed, name.StrictValidation); err != nil {
		return fmt.Errorf("deployed %q: want REGISTRY/REPOSITORY@sha256:<digest>: %w", im.Deployed, err)
	}
	return nil
}

func validateRelease(r Release) error {
	if !slices.Contains(Kinds, r.Kind) {
		return fmt.Errorf("kind is %q: want one of %v", r.Kind, Kinds)
	}
	if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 || len(r.Name) > maxMetaName {
		return fmt.Errorf("name %q is not a Kubernetes object name", r.Name)
	}
	if r.Namespace != "" {
		if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
			return fmt.Errorf("namespace of %s %q: %s", r.Kind, r.Name, errs[0])
		}
	}
	if r.Revision < 0 {
		return fmt.Errorf("revision of %s %q is %d: want 0 or more", r.Kind, r.Name, r.Revision)
	}
	switch {
	case r.Kind == KindChart && r.ChartVersion == "":
		return fmt.Errorf("chartVersion of chart %q is empty", r.Name)
	case r.Kind != KindChart && r.ChartVersion != "":
		return fmt.Errorf("chartVersion is set on %s %q: only charts have one", r.Kind, r.Name)
	}
	if err := validateText("chartVersion", r.ChartVersion); err != nil {
		return err
	}
	if !ociDigest.MatchString(r.ManifestDigest) {
		return fmt.Errorf("manifestDigest of %s %q is %q: want sha256:<64 hex digits>", r.Kind, r.Name, r.ManifestDigest)
	}
	return nil
}
