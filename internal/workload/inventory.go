package workload

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Inventory is what a manifest set owns, kept in the cluster in a ConfigMap
// (airgap-manifests-NAME, labelled with LabelManifestSet), so that an apply can prune what the set
// no longer contains and a Read can compare the live objects with what was applied, without the
// bundle at hand.
type Inventory struct {
	Namespace string  `json:"-"` // where the ConfigMap lives
	Name      string  `json:"-"` // the set's name
	Digest    string  `json:"digest"`
	Objects   []Entry `json:"objects"` // in apply order
}

// Entry is one object a set owns, with the image each of its containers was given.
type Entry struct {
	ObjectRef
	Images map[string]string `json:"images,omitempty"` // container name -> image
}

// inventoryKey is the ConfigMap's data key holding the inventory as JSON.
const inventoryKey = "inventory.json"

// owner is the value of AnnotationInventory on the objects the set owns.
func (inv *Inventory) owner() string { return inv.Namespace + "/" + inv.Name }

func inventoryName(set string) string { return inventoryPrefix + set }

// readInventory returns the set's inventory and the ConfigMap holding it, or nil and nil when
// the set has none (never applied, or deleted).
func (c *Client) readInventory(ctx context.Context, namespace, name string) (*Inventory, *corev1.ConfigMap, error) {
	cm, err := c.core.CoreV1().ConfigMaps(namespace).Get(ctx, inventoryName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the inventory of manifest set %q (ConfigMap %s/%s): %w", name, namespace, inventoryName(name), err)
	}
	inv := &Inventory{Namespace: namespace, Name: name}
	if err := json.Unmarshal([]byte(cm.Data[inventoryKey]), inv); err != nil {
		return nil, nil, fmt.Errorf("the inventory of manifest set %q (ConfigMap %s/%s, key %s) is not valid: %w", name, namespace, cm.Name, inventoryKey, err)
	}
	return inv, cm, nil
}

// writeInventory stores inv, creating its ConfigMap or updating the one read before (cm): an
// update fails if someone changed it since, rather than losing their record.
func (c *Client) writeInventory(ctx context.Context, inv *Inventory, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	data, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("writing the inventory of manifest set %q (ConfigMap %s/%s)", inv.Name, inv.Namespace, inventoryName(inv.Name))
	if cm == nil {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: inventoryName(inv.Name), Namespace: inv.Namespace,
			Labels: map[string]string{LabelManagedBy: ManagedBy, LabelManifestSet: inv.Name},
		}}
		cm.Data = map[string]string{inventoryKey: string(data)}
		created, err := c.core.CoreV1().ConfigMaps(inv.Namespace).Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return created, nil
	}
	cm = cm.DeepCopy()
	cm.Data = map[string]string{inventoryKey: string(data)}
	updated, err := c.core.CoreV1().ConfigMaps(inv.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return updated, nil
}

func (c *Client) deleteInventory(ctx context.Context, inv *Inventory) error {
	err := c.core.CoreV1().ConfigMaps(inv.Namespace).Delete(ctx, inventoryName(inv.Name), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the inventory of manifest set %q: %w", inv.Name, err)
	}
	return nil
}

// dropped lists the entries of old that are not in current: what an apply of current prunes.
// Objects are matched by group, kind, namespace and name; a new API version of the same object
// is the same object.
func dropped(old, current []Entry) []Entry {
	var out []Entry
	for _, o := range old {
		if !containsObject(current, o.ObjectRef) {
			out = append(out, o)
		}
	}
	return out
}

// union is current followed by the entries of old it does not have: what the set may own while
// an apply is under way, so that an interrupted apply leaves nothing unrecorded.
func union(current, old []Entry) []Entry {
	return append(append([]Entry(nil), current...), dropped(old, current)...)
}

func containsObject(entries []Entry, ref ObjectRef) bool {
	for _, e := range entries {
		if e.sameObject(ref) {
			return true
		}
	}
	return false
}
