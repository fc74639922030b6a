package workload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/openairgap/terraform-provider-airgap/internal/chart"
)

// Rendered is a set of objects as they will be applied: parsed, images rewritten.
type Rendered struct {
	Objects []Object
	Images  []ImageChange // every container image, before and after rewriting, in object order
	Digest  string        // ManifestDigest of Objects
}

// Render parses the files in order, rewrites every image with images, and digests the result.
// It contacts nothing, so a plan can show the images and the digest. Two objects naming the same
// object are refused.
func Render(files []File, images ImageMapper) (*Rendered, error) {
	var objs []Object
	for _, f := range files {
		o, err := Parse(f)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
	if err := refuseDuplicates(objs); err != nil {
		return nil, err
	}
	changes, err := RewriteImages(objs, images)
	if err != nil {
		return nil, err
	}
	digest, err := ManifestDigest(objs)
	if err != nil {
		return nil, err
	}
	return &Rendered{Objects: objs, Images: changes, Digest: digest}, nil
}

// refuseDuplicates fails when two objects are the same object (version aside): the second
// would silently replace the first.
func refuseDuplicates(objs []Object) error {
	seen := map[ObjectRef]Object{}
	for _, o := range objs {
		r := o.Ref()
		r.Version = ""
		if first, ok := seen[r]; ok {
			return fmt.Errorf("%s is also defined in %s, document %d: each object may appear once", o.Where(), first.Source, first.Index)
		}
		seen[r] = o
	}
	return nil
}

// ManifestDigest is "sha256:" and the hex SHA-256 of the objects' canonical JSON (sorted keys),
// taken in a sorted order, so the digest depends on the objects alone and not on the order or
// formatting of the files: a chart rendered for a plan and the same chart read back from its
// Helm release give the same digest.
func ManifestDigest(objs []Object) (string, error) {
	docs := make([][]byte, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o.Object.Object) // encoding/json sorts map keys
		if err != nil {
			return "", fmt.Errorf("%s: %w", o.Where(), err)
		}
		docs = append(docs, b)
	}
	slices.SortFunc(docs, bytes.Compare)
	h := sha256.New()
	for _, d := range docs {
		h.Write(d)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// hookAnnotation marks a chart template as a Helm hook rather than part of the release manifest.
const hookAnnotation = "helm.sh/hook"

func isHook(u *unstructured.Unstructured) bool {
	_, ok := u.GetAnnotations()[hookAnnotation]
	return ok
}

// RenderChart renders a packaged chart (its .tgz) offline, as an install of release into
// namespace with values over the chart's defaults, and rewrites its images: what a plan shows.
// Helm hooks are not part of it (Helm keeps them out of the release manifest) and are checked
// with CheckHooks. The templates see Helm's default capabilities, not the cluster's.
func RenderChart(archive []byte, values map[string]any, release, namespace string, images ImageMapper) (*Rendered, error) {
	c, err := chart.LoadArchive(archive)
	if err != nil {
		return nil, err
	}
	valuesYAML, err := yaml.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	stream, err := chart.Render(c, string(valuesYAML), release, namespace)
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", c.Name(), c.Metadata.Version, err)
	}
	objs, err := Parse(File{Name: c.Name(), Data: []byte(stream)})
	if err != nil {
		return nil, err
	}
	var manifest, hooks []Object
	for _, o := range objs {
		if isHook(o.Object) {
			hooks = append(hooks, o)
		} else {
			manifest = append(manifest, o)
		}
	}
	if err := CheckHooks(hooks, images); err != nil {
		return nil, err
	}
	changes, err := RewriteImages(manifest, images)
	if err != nil {
		return nil, err
	}
	digest, err := ManifestDigest(manifest)
	if err != nil {
		return nil, err
	}
	return &Rendered{Objects: manifest, Images: changes, Digest: digest}, nil
}

// CheckHooks refuses hooks that run an image the mapper would rewrite. Helm 3 does not pass hooks
// through a post-renderer, so such a hook would pull its image as written, from outside the
// enclave; a hook whose images already are in-cluster references (mapped to themselves) is fine.
func CheckHooks(hooks []Object, images ImageMapper) error {
	for _, h := range hooks {
		cs, err := containers(h.Object)
		if err != nil {
			return fmt.Errorf("hook %s: %w", h.Where(), err)
		}
		for _, c := range cs {
			after, err := images(c.image)
			if err != nil {
				return fmt.Errorf("hook %s: container %q: image %q: %w", h.Where(), c.name, c.image, err)
			}
			if after != c.image {
				return fmt.Errorf("hook %s: container %q runs %q, which must become %q, but Helm 3 does not post-render hooks: "+
					"set the hook's image to the in-cluster reference in the chart's values, or remove the hook", h.Where(), c.name, c.image, after)
			}
		}
	}
	return nil
}
