package workload

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ImageMapper maps an image reference found in a rendered object to the reference the cluster
// pulls, pinned by digest (such as 127.0.0.1:31999/library/nginx@sha256:...). It fails for an
// image the bundle does not carry. registry.Target.Reference over a verified BOM is the intended
// implementation; the engine only calls it.
type ImageMapper func(ref string) (string, error)

// ImageChange is one container's image as rendered (Before) and as applied (After).
type ImageChange struct {
	Object    ObjectRef `json:"object"`
	Source    string    `json:"source,omitempty"` // the file the object came from
	Container string    `json:"container"`
	Before    string    `json:"before"`
	After     string    `json:"after"`
}

// podSpecPaths says where each pod-template-bearing kind keeps its pod spec. Kinds elsewhere
// (custom resources that run pods) are not rewritten: their images are not found.
var podSpecPaths = map[groupKind][]string{
	{"", "Pod"}:                   {"spec"},
	{"", "PodTemplate"}:           {"template", "spec"},
	{"", "ReplicationController"}: {"spec", "template", "spec"},
	{"apps", "Deployment"}:        {"spec", "template", "spec"},
	{"apps", "StatefulSet"}:       {"spec", "template", "spec"},
	{"apps", "DaemonSet"}:         {"spec", "template", "spec"},
	{"apps", "ReplicaSet"}:        {"spec", "template", "spec"},
	{"batch", "Job"}:              {"spec", "template", "spec"},
	{"batch", "CronJob"}:          {"spec", "jobTemplate", "spec", "template", "spec"},
}

// containerLists are the pod spec's lists of containers; a container's name is unique across
// all three.
var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

type groupKind struct{ group, kind string }

// container is one container of an object's pod spec, as found in place.
type container struct {
	name  string
	image string
	set   func(image string) // writes the image back into the object
}

// containers lists the containers of u's pod spec, or nothing for a kind without one.
func containers(u *unstructured.Unstructured) ([]container, error) {
	gvk := u.GroupVersionKind()
	path, ok := podSpecPaths[groupKind{gvk.Group, gvk.Kind}]
	if !ok {
		return nil, nil
	}
	// NoCopy: the containers found are the object's own maps, so that set writes in place.
	field, found, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dotted(path), err)
	}
	if !found || field == nil {
		return nil, nil
	}
	spec, ok := field.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", dotted(path))
	}
	var out []container
	for _, list := range containerLists {
		items, ok := spec[list].([]any)
		if spec[list] != nil && !ok {
			return nil, fmt.Errorf("%s.%s is not a list", dotted(path), list)
		}
		for i, item := range items {
			c, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.%s[%d] is not an object", dotted(path), list, i)
			}
			name, _ := c["name"].(string)
			image, _ := c["image"].(string)
			out = append(out, container{name: name, image: image, set: func(image string) { c["image"] = image }})
		}
	}
	return out, nil
}

func dotted(path []string) string { return strings.Join(path, ".") }

// RewriteImages replaces every container image of the objects with what images maps it to, in
// place, and returns the changes (including images mapped to themselves, so the plan shows every
// image). It stops at the first image that cannot be mapped, with an error naming the object, its
// file and the container.
func RewriteImages(objs []Object, images ImageMapper) ([]ImageChange, error) {
	if images == nil {
		return nil, errors.New("no image mapper: every image must be mapped to the in-cluster registry")
	}
	var changes []ImageChange
	for _, o := range objs {
		cs, err := containers(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		for _, c := range cs {
			if c.image == "" {
				return nil, fmt.Errorf("%s: container %q has no image", o.Where(), c.name)
			}
			after, err := images(c.image)
			if err != nil {
				return nil, fmt.Errorf("%s: container %q: image %q: %w", o.Where(), c.name, c.image, err)
			}
			c.set(after)
			changes = append(changes, ImageChange{Object: o.Ref(), Source: o.Source, Container: c.name, Before: c.image, After: after})
		}
	}
	return changes, nil
}

// ContainerImages maps each container of u's pod spec to its image (empty for kinds without one).
func ContainerImages(u *unstructured.Unstructured) (map[string]string, error) {
	cs, err := containers(u)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.name] = c.image
	}
	return out, nil
}

// Images lists the distinct images the objects' containers run, sorted.
func Images(objs []Object) ([]string, error) {
	var out []string
	for _, o := range objs {
		m, err := ContainerImages(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		for _, img := range m {
			out = append(out, img)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Mapper maps images through refs, from the reference as the bundle's BOM records it to the
// in-cluster reference (registry.Target.References gives it). A reference that is not a key as
// written is normalised first, so nginx:1.27 finds docker.io/library/nginx:1.27; an in-cluster
// reference (a value) maps to itself, so rewriting twice changes nothing. Anything else is an
// error listing what the bundle carries.
func Mapper(refs map[string]string) ImageMapper {
	normal := make(map[string]string, len(refs))
	inCluster := make(map[string]bool, len(refs))
	for from, to := range refs {
		normal[normalise(from)] = to
		inCluster[to] = true
	}
	return func(ref string) (string, error) {
		if to, ok := refs[ref]; ok {
			return to, nil
		}
		if inCluster[ref] {
			return ref, nil
		}
		if to, ok := normal[normalise(ref)]; ok {
			return to, nil
		}
		carried := slices.Sorted(maps.Keys(refs))
		return "", fmt.Errorf("the bundle does not carry this image (it carries %s): add it to the bundle's images", strings.Join(carried, ", "))
	}
}

// normalise spells a reference in full (registry, repository, tag or digest); one that does not
// parse stays as written.
func normalise(ref string) string {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return ref
	}
	return r.Name()
}
