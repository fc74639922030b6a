package workload

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// File is one manifest file as the bundle carries it.
type File struct {
	Name string // its path in the bundle, for messages
	Data []byte
}

// Object is one Kubernetes object read from a manifest file.
type Object struct {
	Source string // the file it came from
	Index  int    // its document's number in that file, from 1
	Item   int    // its number in a List document, from 1, or 0
	Object *unstructured.Unstructured
}

// Ref identifies the object.
func (o Object) Ref() ObjectRef { return refOf(o.Object) }

// Where names the object and the document it came from, for messages.
func (o Object) Where() string {
	if o.Item > 0 {
		return fmt.Sprintf("%s (%s, document %d, item %d)", o.Ref(), o.Source, o.Index, o.Item)
	}
	return fmt.Sprintf("%s (%s, document %d)", o.Ref(), o.Source, o.Index)
}

// ObjectRef identifies an object in a cluster. Namespace is empty for cluster-scoped objects.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String is "Kind namespace/name" ("Kind name" when cluster-scoped), with the group after the
// kind when it is not the core group: "Deployment.apps shop/web".
func (r ObjectRef) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace == "" {
		return kind + " " + r.Name
	}
	return kind + " " + r.Namespace + "/" + r.Name
}

// GroupVersionKind is the object's type.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// sameObject says whether a and b name the same object, whatever the version they were read at.
func (r ObjectRef) sameObject(o ObjectRef) bool {
	return r.Group == o.Group && r.Kind == o.Kind && r.Namespace == o.Namespace && r.Name == o.Name
}

func refOf(u *unstructured.Unstructured) ObjectRef {
	gvk := u.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// Parse reads a multi-document YAML (or JSON) file. Empty documents (blank, or comments only) are
// skipped; a List (a kind ending in "List" with items, such as v1/List or ConfigMapList) is
// expanded into its items. Every error names the file and the document, counted from 1 as a
// reader counts them: every "---" line starts a document, and text before the first one counts
// only if there is some.
//
// A document that starts with a "# Source: PATH" comment, as in Helm's rendered output, is
// attributed to PATH, and so are the documents after it that name no source of their own (a
// template whose output holds several documents); each is counted among that path's documents.
func Parse(f File) ([]Object, error) {
	var out []Object
	counts := map[string]int{}
	source := f.Name
	for _, doc := range splitDocuments(f.Data) {
		named := sourceComment(doc, "")
		if named != "" {
			source = named
			if isBlank(doc) {
				continue // a header alone, before the template's own "---"
			}
		}
		counts[source]++
		objs, err := parseDocument(source, counts[source], doc)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// splitDocuments cuts a YAML stream at its "---" lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	first := true
	flush := func() {
		if !first || strings.TrimSpace(cur.String()) != "" {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
		first = false
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		trimmed := strings.TrimRight(string(line), " \t\r\n")
		if trimmed == "---" || strings.HasPrefix(trimmed, "--- ") {
			flush()
			continue
		}
		cur.Write(line)
	}
	flush()
	return docs
}

// isBlank says whether doc holds nothing but comments and blank lines.
func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// sourceComment returns the path of a leading "# Source: PATH" comment, or fallback.
func sourceComment(doc []byte, fallback string) string {
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "---" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# Source: "); ok && strings.TrimSpace(rest) != "" {
			return strings.TrimSpace(rest)
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
	}
	return fallback
}

func parseDocument(file string, index int, doc []byte) ([]Object, error) {
	where := fmt.Sprintf("%s: document %d", file, index)
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", where, err)
	}
	if t := strings.TrimSpace(string(js)); t == "null" || t == "" {
		return nil, nil // an empty document: "---" twice, or comments only
	}
	var fields map[string]any
	if err := utiljson.Unmarshal(js, &fields); err != nil {
		return nil, fmt.Errorf("%s: not a Kubernetes object (a YAML mapping with apiVersion, kind and metadata): %w", where, err)
	}
	u := &unstructured.Unstructured{Object: fields}
	if u.IsList() {
		return expandList(file, index, u)
	}
	if err := validateObject(u); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return []Object{{Source: file, Index: index, Object: u}}, nil
}

func expandList(file string, index int, u *unstructured.Unstructured) ([]Object, error) {
	list, err := u.ToList()
	if err != nil {
		return nil, fmt.Errorf("%s: document %d: %w", file, index, err)
	}
	out := make([]Object, 0, len(list.Items))
	for i := range list.Items {
		item := &list.Items[i]
		if err := validateObject(item); err != nil {
			return nil, fmt.Errorf("%s: document %d: item %d: %w", file, index, i+1, err)
		}
		out = append(out, Object{Source: file, Index: index, Item: i + 1, Object: item})
	}
	return out, nil
}

// validateObject checks the fields that every object needs before it can be addressed.
func validateObject(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "":
		return errors.New("apiVersion is missing")
	case u.GetKind() == "":
		return errors.New("kind is missing")
	case u.GetName() == "" && u.GetGenerateName() != "":
		return fmt.Errorf("%s uses metadata.generateName: an applied object needs a fixed metadata.name", u.GetKind())
	case u.GetName() == "":
		return fmt.Errorf("%s has no metadata.name", u.GetKind())
	}
	return nil
}
