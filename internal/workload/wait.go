package workload

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// WaitOptions say how long to wait for objects to be ready.
type WaitOptions struct {
	// Timeout bounds the wait; zero means do not wait.
	Timeout time.Duration
	// CrashLoopRestarts is how many restarts a container in CrashLoopBackOff may have before the
	// wait gives up on it at once rather than at the timeout; zero means 3. A container that
	// crashes a few times while something it needs starts is common; one that keeps crashing
	// is a fault to report now, with its last words.
	CrashLoopRestarts int
}

func (o WaitOptions) crashLoopRestarts() int32 {
	if o.CrashLoopRestarts <= 0 {
		return 3
	}
	return int32(o.CrashLoopRestarts)
}

// NotReadyError is an object that did not become ready: it failed (a pod cannot pull its image,
// a container keeps crashing, a Job failed) or the timeout passed first.
type NotReadyError struct {
	Object ObjectRef
	// Reason is the failure, such as ImagePullBackOff or CrashLoopBackOff, or "Timeout".
	Reason string
	// Detail says where the object was: the failing pod and container and its last message, or
	// how far a rollout got.
	Detail string
}

func (e *NotReadyError) Error() string {
	if e.Reason == reasonTimeout {
		return fmt.Sprintf("%s is not ready: %s", e.Object, e.Detail)
	}
	return fmt.Sprintf("%s failed: %s: %s", e.Object, e.Reason, e.Detail)
}

const reasonTimeout = "Timeout"

// progress is where an object stands: ready, or not yet (state says how far it got), or
// failed for good (err).
type progress struct {
	ready bool
	state string
	err   *NotReadyError
}

// WaitReady waits until every object is ready, and fails at the first that cannot get there, or
// when opts.Timeout has passed, naming each object still waiting and how far it got. What ready
// means depends on the kind: Deployments, StatefulSets and DaemonSets rolled out at their current
// generation, Pods Ready (or Succeeded), Jobs complete, CustomResourceDefinitions established;
// other kinds once they exist. Kinds that run pods must be seen ready on two polls in a row.
func (c *Client) WaitReady(ctx context.Context, refs []ObjectRef, opts WaitOptions) error {
	if opts.Timeout <= 0 || len(refs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, opts.Timeout, errWaitTimeout)
	defer cancel()
	pending := append([]ObjectRef(nil), refs...)
	states := map[ObjectRef]string{}
	readyOnce := map[ObjectRef]bool{}
	for {
		var still []ObjectRef
		for _, ref := range pending {
			p, err := c.progress(ctx, ref, opts)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return err
			}
			if p.err != nil {
				return p.err
			}
			if p.ready && runsPods[groupKind{ref.Group, ref.Kind}] && !readyOnce[ref] {
				// A container with no readiness probe counts as ready the moment it starts,
				// even one that exits a millisecond later: ready must hold one poll later too.
				readyOnce[ref] = true
				p = progress{state: "ready; looking again to see that it stays so"}
			} else if !p.ready {
				delete(readyOnce, ref)
			}
			if !p.ready {
				states[ref] = p.state
				still = append(still, ref)
			}
		}
		if ctx.Err() == nil {
			pending = still
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), errWaitTimeout) {
				return fmt.Errorf("waiting for %s: %w", pending[0], context.Cause(ctx))
			}
			return timeoutError(pending, states, opts.Timeout)
		case <-time.After(c.poll):
		}
	}
}

var errWaitTimeout = errors.New("readiness timeout")

func timeoutError(pending []ObjectRef, states map[ObjectRef]string, timeout time.Duration) error {
	errs := make([]error, 0, len(pending))
	for _, ref := range pending {
		state := states[ref]
		if state == "" {
			state = "not looked at yet"
		}
		errs = append(errs, &NotReadyError{Object: ref, Reason: reasonTimeout, Detail: fmt.Sprintf("not ready within %s: %s", timeout, state)})
	}
	return errors.Join(errs...)
}

// progress reads ref and says where it stands.
func (c *Client) progress(ctx context.Context, ref ObjectRef, opts WaitOptions) (progress, error) {
	u, err := c.get(ctx, ref)
	if apierrors.IsNotFound(err) {
		return progress{state: "not found"}, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return progress{}, err
		}
		// An API server hiccup: keep waiting, and say so if it lasts.
		return progress{state: "reading it failed: " + err.Error()}, nil
	}
	return c.objectProgress(ctx, u, opts)
}

func (c *Client) objectProgress(ctx context.Context, u *unstructured.Unstructured, opts WaitOptions) (progress, error) {
	ref := refOf(u)
	check, ok := readiness[groupKind{ref.Group, ref.Kind}]
	if !ok {
		return progress{ready: true}, nil
	}
	p, pods, err := check(u)
	if err != nil {
		return progress{}, fmt.Errorf("%s: %w", ref, err)
	}
	if p.ready || p.err != nil || pods == nil {
		return p, nil
	}
	// Not ready yet: look at its pods for a reason it never will be.
	fail, state, err := c.podsProblem(ctx, ref.Namespace, pods, opts.crashLoopRestarts())
	if err != nil {
		return progress{state: p.state}, nil //nolint:nilerr // the pods are a hint; the object's own state stands
	}
	if fail != nil {
		fail.Object = ref
		return progress{err: fail}, nil
	}
	if state != "" {
		p.state += " (" + state + ")"
	}
	return p, nil
}

// podSelector says which pods belong to an object's current revision, to look for a reason it
// is not ready: pods matching labels, or the one pod named, or, for a Deployment, the pods of its
// newest ReplicaSet (older pods may be failing on their way out: that is what a rollout fixes).
type podSelector struct {
	labels     string
	name       string
	deployment *appsv1.Deployment
}

// readiness holds the checks of the kinds that have one. Each returns the object's progress
// and, when not ready, the pods to look at for a reason (nil for none).
var readiness = map[groupKind]func(u *unstructured.Unstructured) (progress, *podSelector, error){
	{"apps", "Deployment"}:        deploymentProgress,
	{"apps", "StatefulSet"}:       statefulSetProgress,
	{"apps", "DaemonSet"}:         daemonSetProgress,
	{"apps", "ReplicaSet"}:        replicaSetProgress,
	{"", "ReplicationController"}: replicationControllerProgress,
	{"", "Pod"}:                   podProgress,
	{"batch", "Job"}:              jobProgress,
	{"apiextensions.k8s.io", "CustomResourceDefinition"}: crdProgress,
}

// runsPods holds the kinds whose readiness is that of long-running pods, which WaitReady must
// see ready twice in a row.
var runsPods = map[groupKind]bool{
	{"apps", "Deployment"}: true, {"apps", "StatefulSet"}: true, {"apps", "DaemonSet"}: true,
	{"apps", "ReplicaSet"}: true, {"", "ReplicationController"}: true, {"", "Pod"}: true,
}

// describe is a short state for messages.
func describe(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "; ")
}
