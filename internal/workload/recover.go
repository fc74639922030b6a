package workload

import (
	"context"
	"fmt"
	"strconv"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
)

// recover brings a release that an interrupted apply left pending (pending-install,
// pending-upgrade, pending-rollback) back to a settled state: a rollback to its last good
// revision, or an uninstall when it has none. Helm refuses to touch a pending release, and would
// keep refusing: the lock it stands for belongs to a process that is gone. It says what it did,
// or "" when the release was not pending.
func (c *Client) recover(ctx context.Context, cfg *action.Configuration, name string, opts ReleaseOptions) (string, error) {
	pending := last(cfg, name)
	if pending == nil || !pending.Info.Status.IsPending() {
		return "", nil
	}
	what := fmt.Sprintf("release %s/%s was %s at revision %d (chart %s), left so by an interrupted apply",
		pending.Namespace, name, pending.Info.Status, pending.Version, describeChart(pending.Chart))
	good := lastGood(cfg, name)
	if good == nil {
		if err := uninstall(cfg, name, opts.Wait.Timeout); err != nil {
			if ctx.Err() != nil {
				return "", interrupted(ctx, "recovering "+what, last(cfg, name))
			}
			return "", fmt.Errorf("%s; uninstalling it failed: %w", what, err)
		}
		return what + ": it had no good revision, so it was uninstalled", nil
	}
	// The interrupted revision failed: say so in its record first (a rollback would leave it
	// pending in the history).
	pending.SetStatus(release.StatusFailed, "Interrupted while "+string(pending.Info.Status)+"; recovered by a rollback to revision "+strconv.Itoa(good.Version))
	if err := cfg.Releases.Update(pending); err != nil {
		return "", fmt.Errorf("%s; marking it failed: %w", what, err)
	}
	back, err := rollback(cfg, name, good.Version, opts)
	if err != nil {
		if ctx.Err() != nil {
			return "", interrupted(ctx, "recovering "+what, last(cfg, name))
		}
		return "", fmt.Errorf("%s; rolling it back to revision %d failed: %w", what, good.Version, err)
	}
	return fmt.Sprintf("%s: it was rolled back to revision %d (now revision %d)", what, good.Version, back.Version), nil
}
