package bundle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// containerLists are the pod-spec keys whose entries carry an `image`. Walking every object for
// them, rather than matching known kinds, also finds pod templates inside custom resources.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// ScanImages returns the distinct image references in a stream of YAML documents, sorted.
func ScanImages(manifests []byte) ([]string, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifests)))
	found := map[string]bool{}
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		var obj any
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if err := walkImages(obj, found); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
	}
	out := make([]string, 0, len(found))
	for ref := range found {
		out = append(out, ref)
	}
	sort.Strings(out)
	return out, nil
}

func walkImages(v any, found map[string]bool) error {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if list, ok := child.([]any); ok && containerLists[k] {
				for _, c := range list {
					if m, ok := c.(map[string]any); ok {
						if img, ok := m["image"].(string); ok {
							found[img] = true
						} else if _, present := m["image"]; present {
							return fmt.Errorf("%s entry has a non-string image", k)
						}
					}
				}
			}
			if err := walkImages(child, found); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range t {
			if err := walkImages(child, found); err != nil {
				return err
			}
		}
	}
	return nil
}

// imageIndex answers whether a reference found in a manifest is carried by the bundle.
type imageIndex struct {
	byTag    map[string]bool // name:tag
	byDigest map[string]bool // name@digest, for the image's own, source and platform digests
}

func newImageIndex(images []Image) imageIndex {
	ix := imageIndex{byTag: map[string]bool{}, byDigest: map[string]bool{}}
	for _, img := range images {
		if img.Tag != "" {
			ix.byTag[img.Name+":"+img.Tag] = true
		}
		ix.byDigest[img.Name+"@"+img.Digest] = true
		ix.byDigest[img.Name+"@"+img.SourceDigest] = true
		for _, p := range img.Platforms {
			ix.byDigest[img.Name+"@"+p.Digest] = true
		}
	}
	return ix
}

// carries reports whether ref resolves to an image of the bundle. A reference with both a tag and
// a digest must match on the digest, which is what a container runtime would pull.
func (ix imageIndex) carries(ref string) (bool, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return false, err
	}
	repo := NormalizedName(r.Context())
	switch t := r.(type) {
	case name.Digest:
		return ix.byDigest[repo+"@"+t.DigestStr()], nil
	case name.Tag:
		return ix.byTag[repo+":"+t.TagStr()], nil
	}
	return false, nil
}
