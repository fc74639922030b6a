package inject

import (
	"fmt"
	"regexp"
)

// These grammars mirror injector/names.c: a payload that passes here is one
// the injector accepts, so a bad name fails at plan time, not in the cluster.
var (
	repositoryRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRE        = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	hex64RE      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	mediaTypeRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)
)

const maxRepositoryLen = 255

func validateRepository(repo string) error {
	if len(repo) > maxRepositoryLen || !repositoryRE.MatchString(repo) {
		return fmt.Errorf("repository %q: want lowercase path components such as \"airgap/registry\", without a registry host", repo)
	}
	return nil
}

func validateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q: want [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag)
	}
	return nil
}

func validateMediaType(mt string) error {
	if !mediaTypeRE.MatchString(mt) {
		return fmt.Errorf("media type %q: want type/subtype without parameters", mt)
	}
	return nil
}
