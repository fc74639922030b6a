package workload

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// Live is a manifest set as the cluster has it, against its inventory: what a Read reports.
type Live struct {
	// Inventory is the set's record; nil when the set does not exist (never applied, or deleted
	// behind Terraform's back), and then the rest is empty.
	Inventory *Inventory
	// Missing objects are recorded in the inventory but gone from the cluster.
	Missing []ObjectRef
	// Foreign objects are recorded in the inventory but now owned by another set.
	Foreign []ObjectRef
	// Images are containers whose image is not the one applied: changed by hand, or removed.
	Images []ImageDrift
}

// ImageDrift is a container whose live image differs from the one the set applied. Want is ""
// for a container the set did not apply; Got is "" for one that is gone.
type ImageDrift struct {
	Object    ObjectRef `json:"object"`
	Container string    `json:"container"`
	Want      string    `json:"want"`
	Got       string    `json:"got"`
}

func (d ImageDrift) String() string {
	switch {
	case d.Got == "":
		return fmt.Sprintf("%s: container %q (image %s) is gone", d.Object, d.Container, d.Want)
	case d.Want == "":
		return fmt.Sprintf("%s: container %q (image %s) was added", d.Object, d.Container, d.Got)
	}
	return fmt.Sprintf("%s: container %q runs %s instead of %s", d.Object, d.Container, d.Got, d.Want)
}

// Drifted says whether the live set differs from what was applied in a way an approver cares
// about.
func (l *Live) Drifted() bool { return len(l.Missing)+len(l.Foreign)+len(l.Images) > 0 }

// Differences lists the drift as sentences, sorted, for a plan or a state attribute.
func (l *Live) Differences() []string {
	var out []string
	for _, r := range l.Missing {
		out = append(out, r.String()+" is missing")
	}
	for _, r := range l.Foreign {
		out = append(out, r.String()+" is owned by another set")
	}
	for _, d := range l.Images {
		out = append(out, d.String())
	}
	slices.Sort(out)
	return out
}

// Read compares the set's live objects with its inventory. It only reads.
func (c *Client) Read(ctx context.Context, inventoryNamespace, name string) (*Live, error) {
	inv, _, err := c.readInventory(ctx, inventoryNamespace, name)
	if err != nil || inv == nil {
		return &Live{}, err
	}
	live := &Live{Inventory: inv}
	for _, e := range inv.Objects {
		u, err := c.get(ctx, e.ObjectRef)
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			live.Missing = append(live.Missing, e.ObjectRef)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", e.ObjectRef, err)
		}
		if u.GetDeletionTimestamp() != nil {
			live.Missing = append(live.Missing, e.ObjectRef) // going: as good as missing
			continue
		}
		if u.GetAnnotations()[AnnotationInventory] != inv.owner() {
			live.Foreign = append(live.Foreign, e.ObjectRef)
			continue
		}
		got, err := ContainerImages(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.ObjectRef, err)
		}
		live.Images = append(live.Images, imageDrift(e, got)...)
	}
	return live, nil
}

// imageDrift compares the images an entry recorded with the live ones.
func imageDrift(e Entry, got map[string]string) []ImageDrift {
	var out []ImageDrift
	for _, name := range sortedKeys(e.Images, got) {
		if want, have := e.Images[name], got[name]; want != have {
			out = append(out, ImageDrift{Object: e.ObjectRef, Container: name, Want: want, Got: have})
		}
	}
	return out
}

func sortedKeys(maps ...map[string]string) []string {
	var keys []string
	for _, m := range maps {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, strings.Compare)
	return slices.Compact(keys)
}
