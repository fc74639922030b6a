package workload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// DeleteResult is what a delete did.
type DeleteResult struct {
	Deleted   []ObjectRef
	Abandoned []ObjectRef // owned by another set now: left in place
}

// Delete deletes every object the set owns, in the reverse of the apply order (Namespaces
// last), then its inventory. With wait > 0 it waits, at most that long, until the objects are
// gone (finalizers done, a namespace emptied) before removing the inventory. A set without an
// inventory has nothing to delete. If some object cannot be deleted, the inventory stays, so
// that a retry finds the rest.
func (c *Client) Delete(ctx context.Context, inventoryNamespace, name string, wait time.Duration) (*DeleteResult, error) {
	inv, _, err := c.readInventory(ctx, inventoryNamespace, name)
	if err != nil || inv == nil {
		return &DeleteResult{}, err
	}
	res := &DeleteResult{}
	var errs []error
	for _, e := range slices.Backward(inv.Objects) {
		gone, err := c.deleteOwned(ctx, e.ObjectRef, inv.owner())
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("deleting %s: %w", e.ObjectRef, err))
		case gone:
			res.Deleted = append(res.Deleted, e.ObjectRef)
		default:
			res.Abandoned = append(res.Abandoned, e.ObjectRef)
		}
	}
	if len(errs) > 0 {
		return res, errors.Join(errs...)
	}
	if err := c.waitGone(ctx, res.Deleted, wait); err != nil {
		return res, err
	}
	return res, c.deleteInventory(ctx, inv)
}

// waitGone waits until none of refs exists any more, at most timeout (zero: no wait).
func (c *Client) waitGone(ctx context.Context, refs []ObjectRef, timeout time.Duration) error {
	if timeout <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
	defer cancel()
	pending := refs
	for len(pending) > 0 {
		var still []ObjectRef
		for _, ref := range pending {
			// A kind no longer served went with its CustomResourceDefinition, and its objects too.
			if _, err := c.get(ctx, ref); !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
				still = append(still, ref)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errWaitTimeout) {
				return fmt.Errorf("%s (and %d more) still exists %s after it was deleted", pending[0], len(pending)-1, timeout)
			}
			return context.Cause(ctx)
		case <-time.After(c.poll):
		}
	}
	return nil
}
