package workload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
)

// Set is a set of plain manifests applied, pruned and deleted together.
type Set struct {
	// Name identifies the set and its inventory (a DNS label).
	Name string
	// InventoryNamespace is where the inventory ConfigMap lives; it must exist, or be one of the
	// set's Namespaces.
	InventoryNamespace string
	// DefaultNamespace is given to namespaced objects that name none.
	DefaultNamespace string
	// Manifest is the set's objects, as Render returned them.
	Manifest *Rendered
}

// ApplyOptions say who applies and how long to wait.
type ApplyOptions struct {
	// FieldManager owns the applied fields (server-side apply). Conflicts with other managers
	// are forced: the objects end up as the plan showed them, and the fields they set move to
	// this manager. Fields the manifests do not set stay with their owners.
	FieldManager string
	// Wait is the readiness wait after the apply; a zero Timeout does not wait.
	Wait WaitOptions
}

// ApplyResult is what an apply did.
type ApplyResult struct {
	Applied []ObjectRef // in apply order
	Pruned  []ObjectRef // owned before, dropped from the set, deleted
	// Abandoned objects were dropped from the set but left in place: another set owns them now
	// (AnnotationInventory names it), or they are Namespaces that objects of the set still use.
	Abandoned []ObjectRef
	Inventory *Inventory
}

// crdEstablishTimeout bounds the wait for the set's CustomResourceDefinitions before their
// custom resources are applied, whatever the readiness wait is.
const crdEstablishTimeout = time.Minute

// Apply applies the set with server-side apply, in order (Namespaces, then
// CustomResourceDefinitions, established before anything else, then the rest in the set's
// order), prunes what the set owned before and no longer contains, records the inventory, and
// waits for readiness if asked. The inventory names every object the set may own before the
// first object is applied, so an interrupted apply is pruned correctly by the next one.
func (c *Client) Apply(ctx context.Context, set Set, opts ApplyOptions) (*ApplyResult, error) {
	if err := set.validate(); err != nil {
		return nil, err
	}
	if opts.FieldManager == "" {
		return nil, errors.New("a field manager is required for server-side apply")
	}
	inv := &Inventory{Namespace: set.InventoryNamespace, Name: set.Name, Digest: set.Manifest.Digest}
	planned, err := c.plan(set, inv.owner())
	if err != nil {
		return nil, err
	}
	old, cm, err := c.readInventory(ctx, set.InventoryNamespace, set.Name)
	if err != nil {
		return nil, err
	}
	var oldEntries []Entry
	oldDigest := ""
	if old != nil {
		oldEntries, oldDigest = old.Objects, old.Digest
	}
	namespaces, crds, rest := byRank(planned)
	for _, p := range slices.Concat(namespaces, crds, rest) {
		inv.Objects = append(inv.Objects, p.entry) // in apply order: Delete goes backwards
	}
	res := &ApplyResult{Inventory: inv}

	if err := c.applyAll(ctx, namespaces, opts.FieldManager, res); err != nil {
		return res, err
	}
	// Now the set's namespaces exist: record everything the set may own before going on. The
	// digest stays the old one until the apply is done, so a Read after a failed apply does not
	// claim the new manifest.
	underWay := &Inventory{Namespace: inv.Namespace, Name: inv.Name, Digest: oldDigest, Objects: union(inv.Objects, oldEntries)}
	cm, err = c.writeInventory(ctx, underWay, cm)
	if err != nil {
		return res, err
	}
	if err := c.applyAll(ctx, crds, opts.FieldManager, res); err != nil {
		return res, err
	}
	if len(crds) > 0 {
		if err := c.WaitReady(ctx, refsOf(crds), WaitOptions{Timeout: crdEstablishTimeout}); err != nil {
			return res, err
		}
		c.mapper.Reset() // their kinds are served now
	}
	if err := c.applyAll(ctx, rest, opts.FieldManager, res); err != nil {
		return res, err
	}

	kept, pruneErr := c.prune(ctx, inv, dropped(oldEntries, inv.Objects), res)
	inv.Objects = append(inv.Objects, kept...) // objects that failed to go stay on record
	if _, err := c.writeInventory(ctx, inv, cm); err != nil {
		return res, errors.Join(pruneErr, err)
	}
	if pruneErr != nil {
		return res, pruneErr
	}
	return res, c.WaitReady(ctx, res.Applied, opts.Wait)
}

func (s Set) validate() error {
	if errs := validation.IsDNS1123Label(s.Name); len(errs) > 0 {
		return fmt.Errorf("manifest set name %q: %s", s.Name, errs[0])
	}
	if s.InventoryNamespace == "" {
		return fmt.Errorf("manifest set %q: an inventory namespace is required", s.Name)
	}
	if s.Manifest == nil {
		return fmt.Errorf("manifest set %q: no manifest (use Render)", s.Name)
	}
	return nil
}

// planned is an object ready to apply: defaulted, annotated, and mapped to its resource.
type planned struct {
	source   Object
	object   *unstructured.Unstructured
	resource schema.GroupVersionResource
	rank     int
	entry    Entry
}

func refsOf(ps []planned) []ObjectRef {
	out := make([]ObjectRef, len(ps))
	for i, p := range ps {
		out[i] = p.entry.ObjectRef
	}
	return out
}

// plan maps every object to its resource, gives namespaced objects without a namespace the
// default one, and marks each as owned by the inventory. Kinds defined by the set's own
// CustomResourceDefinitions are taken from those, since the cluster does not serve them yet.
func (c *Client) plan(set Set, owner string) ([]planned, error) {
	own := definedKinds(set.Manifest.Objects)
	var out []planned
	for _, o := range set.Manifest.Objects {
		u := o.Object.DeepCopy()
		gvk := u.GroupVersionKind()
		gvr, namespaced, ok := own.lookup(gvk)
		if !ok {
			m, err := c.mapping(refOf(u))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.Where(), err)
			}
			gvr, namespaced = m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace
		}
		switch {
		case namespaced && u.GetNamespace() == "" && set.DefaultNamespace == "":
			return nil, fmt.Errorf("%s: a namespaced object without a namespace, and no default namespace is set", o.Where())
		case namespaced && u.GetNamespace() == "":
			u.SetNamespace(set.DefaultNamespace)
		case !namespaced && u.GetNamespace() != "":
			return nil, fmt.Errorf("%s: %s is cluster-scoped but sets metadata.namespace: remove it", o.Where(), gvk.Kind)
		}
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationInventory] = owner
		u.SetAnnotations(ann)
		images, err := ContainerImages(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		out = append(out, planned{source: o, object: u, resource: gvr, rank: rank(gvk), entry: Entry{ObjectRef: refOf(u), Images: images}})
	}
	if err := refuseDuplicatesAfterDefaulting(out); err != nil {
		return nil, err
	}
	return out, nil
}

func refuseDuplicatesAfterDefaulting(ps []planned) error {
	for i, p := range ps {
		for _, q := range ps[:i] {
			if p.entry.sameObject(q.entry.ObjectRef) {
				return fmt.Errorf("%s and %s are the same object once the default namespace is applied", p.source.Where(), q.source.Where())
			}
		}
	}
	return nil
}

// rank orders the apply: Namespaces, then CustomResourceDefinitions, then everything else.
func rank(gvk schema.GroupVersionKind) int {
	switch {
	case gvk.Group == "" && gvk.Kind == "Namespace":
		return 0
	case gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition":
		return 1
	}
	return 2
}

func byRank(ps []planned) (namespaces, crds, rest []planned) {
	for _, p := range ps {
		switch p.rank {
		case 0:
			namespaces = append(namespaces, p)
		case 1:
			crds = append(crds, p)
		default:
			rest = append(rest, p)
		}
	}
	return namespaces, crds, rest
}

// crdKinds are the kinds a set's CustomResourceDefinitions define.
type crdKinds map[schema.GroupKind]struct {
	plural     string
	namespaced bool
}

func definedKinds(objs []Object) crdKinds {
	out := crdKinds{}
	for _, o := range objs {
		if rank(o.Object.GroupVersionKind()) != 1 {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object.Object, "spec", "names", "kind")
		plural, _, _ := unstructured.NestedString(o.Object.Object, "spec", "names", "plural")
		scope, _, _ := unstructured.NestedString(o.Object.Object, "spec", "scope")
		if kind != "" && plural != "" {
			out[schema.GroupKind{Group: group, Kind: kind}] = struct {
				plural     string
				namespaced bool
			}{plural, scope == "Namespaced"}
		}
	}
	return out
}

func (k crdKinds) lookup(gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, bool) {
	d, ok := k[gvk.GroupKind()]
	if !ok {
		return schema.GroupVersionResource{}, false, false
	}
	return gvk.GroupVersion().WithResource(d.plural), d.namespaced, true
}

func (c *Client) applyAll(ctx context.Context, ps []planned, fieldManager string, res *ApplyResult) error {
	for _, p := range ps {
		var r dynamic.ResourceInterface = c.dynamic.Resource(p.resource)
		if ns := p.object.GetNamespace(); ns != "" {
			r = c.dynamic.Resource(p.resource).Namespace(ns)
		}
		if _, err := r.Apply(ctx, p.object.GetName(), p.object, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return fmt.Errorf("applying %s: %w", p.source.Where(), err)
		}
		res.Applied = append(res.Applied, p.entry.ObjectRef)
	}
	return nil
}

// prune deletes the dropped objects the set still owns, last applied first. It returns the
// entries it could not delete (to keep on record) and the errors.
func (c *Client) prune(ctx context.Context, inv *Inventory, drop []Entry, res *ApplyResult) ([]Entry, error) {
	inUse := map[string]bool{inv.Namespace: true}
	for _, e := range inv.Objects {
		inUse[e.Namespace] = true
	}
	var kept []Entry
	var errs []error
	for _, e := range slices.Backward(drop) {
		if e.Group == "" && e.Kind == "Namespace" && inUse[e.Name] {
			res.Abandoned = append(res.Abandoned, e.ObjectRef)
			continue
		}
		gone, err := c.deleteOwned(ctx, e.ObjectRef, inv.owner())
		switch {
		case err != nil:
			kept = append(kept, e)
			errs = append(errs, fmt.Errorf("pruning %s: %w", e.ObjectRef, err))
		case gone:
			res.Pruned = append(res.Pruned, e.ObjectRef)
		default:
			res.Abandoned = append(res.Abandoned, e.ObjectRef)
		}
	}
	slices.Reverse(kept)
	return kept, errors.Join(errs...)
}

// deleteOwned deletes ref if it still names owner in AnnotationInventory. It reports whether
// the object is gone or going (false: it belongs to someone else now and was left alone).
func (c *Client) deleteOwned(ctx context.Context, ref ObjectRef, owner string) (bool, error) {
	r, err := c.resource(ref)
	if meta.IsNoMatchError(err) {
		return true, nil // its CustomResourceDefinition is gone, and its objects with it
	}
	if err != nil {
		return false, err
	}
	live, err := r.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if live.GetAnnotations()[AnnotationInventory] != owner {
		return false, nil
	}
	background := metav1.DeletePropagationBackground
	err = r.Delete(ctx, ref.Name, metav1.DeleteOptions{
		PropagationPolicy: &background,
		// Only the object we read: if it was replaced meanwhile, the new one is not ours to judge.
		Preconditions: &metav1.Preconditions{UID: ptr(live.GetUID())},
	})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return err == nil, err
}

func ptr[T any](v T) *T { return &v }
