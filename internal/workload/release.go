package workload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"sigs.k8s.io/yaml"

	"github.com/openairgap/terraform-provider-airgap/internal/chart"
)

// Chart is a Helm release of a chart that a verified bundle carries.
type Chart struct {
	Release   string
	Namespace string // of the release and its records; it must exist
	Archive   []byte // the chart's .tgz, byte for byte as the bundle carries it
	// Values go over the chart's defaults, as a whole: values set by an earlier apply and not
	// given again are not kept.
	Values map[string]any
	Images ImageMapper
}

// ReleaseOptions say how long to wait and how much history to keep.
type ReleaseOptions struct {
	// Wait bounds the readiness wait of an install, an upgrade and a rollback; its Timeout is
	// required.
	Wait WaitOptions
	// MaxHistory is how many revisions Helm keeps; zero means 10.
	MaxHistory int
}

// ReleaseStatus is a release as its newest record describes it.
type ReleaseStatus struct {
	Name, Namespace string
	Revision        int
	Chart           string // the chart's name
	ChartVersion    string
	AppVersion      string
	Status          string // deployed, failed, pending-install, ...
	Description     string
	// ManifestDigest is ManifestDigest over the release manifest's objects: for the same chart,
	// values and images, the digest RenderChart gives at plan time.
	ManifestDigest string
	// Images are the distinct images the manifest runs, sorted.
	Images []string
}

// ReleaseResult is what ApplyChart did.
type ReleaseResult struct {
	ReleaseStatus
	// Changes are the images the post-renderer rewrote, before and after.
	Changes []ImageChange
	// Recovered says what was done, first, to a release an interrupted apply had left pending;
	// empty when there was none.
	Recovered string
}

// ApplyChart installs the chart as its release, or upgrades the release to it: rolling back to
// an older chart or values is an upgrade too. Every image is rewritten by a post-renderer, and
// hooks that would pull from outside are refused before anything is done. It waits for the
// release's objects to be ready. It is atomic: a failed first install is uninstalled, a failed
// upgrade rolled back to the last good revision, and the error says why it failed and what was
// undone. A release found pending (an apply was interrupted) is recovered first, by a rollback to
// its last good revision or, with none, an uninstall, and the result says so.
//
// A call whose context ends stops at once and writes no further release record, so a release it
// was changing stays pending, for the next call to recover.
func (c *Client) ApplyChart(ctx context.Context, ch Chart, opts ReleaseOptions) (*ReleaseResult, error) {
	if err := ch.validate(opts); err != nil {
		return nil, err
	}
	loaded, err := chart.LoadArchive(ch.Archive)
	if err != nil {
		return nil, err
	}
	values, err := copyValues(ch.Values)
	if err != nil {
		return nil, err
	}
	// Offline first: an image the bundle lacks or a hook the post-renderer cannot reach fails
	// here, before the cluster is touched.
	if _, err := RenderChart(ch.Archive, values, ch.Release, ch.Namespace, ch.Images); err != nil {
		return nil, err
	}
	cfg, err := c.helmConfig(ctx, ch.Namespace, opts.Wait, opts.maxHistory())
	if err != nil {
		return nil, err
	}
	res := &ReleaseResult{}
	if res.Recovered, err = c.recover(ctx, cfg, ch.Release, opts); err != nil {
		return res, err
	}
	pr := &PostRenderer{Images: ch.Images}
	var rel *release.Release
	if _, err := cfg.Releases.Last(ch.Release); errors.Is(err, driver.ErrReleaseNotFound) {
		rel, err = c.install(ctx, cfg, ch, loaded, values, pr, opts)
		if err != nil {
			return res, err
		}
	} else if err != nil {
		return res, fmt.Errorf("reading release %s/%s: %w", ch.Namespace, ch.Release, err)
	} else if rel, err = c.upgrade(ctx, cfg, ch, loaded, values, pr, opts); err != nil {
		return res, err
	}
	status, err := releaseStatus(rel)
	if err != nil {
		return res, err
	}
	res.ReleaseStatus, res.Changes = *status, pr.Changes
	return res, nil
}

func (ch Chart) validate(opts ReleaseOptions) error {
	if err := chartutil.ValidateReleaseName(ch.Release); err != nil {
		return fmt.Errorf("release name %q: %w", ch.Release, err)
	}
	switch {
	case ch.Namespace == "":
		return fmt.Errorf("release %s: a namespace is required", ch.Release)
	case ch.Images == nil:
		return fmt.Errorf("release %s: an image mapper is required: every image must be mapped to the in-cluster registry", ch.Release)
	case opts.Wait.Timeout <= 0:
		return fmt.Errorf("release %s: a readiness timeout is required: an atomic release waits for its objects", ch.Release)
	}
	return nil
}

func (o ReleaseOptions) maxHistory() int {
	if o.MaxHistory <= 0 {
		return 10
	}
	return o.MaxHistory
}

// copyValues gives Helm its own copy of the values, in the types YAML decoding gives (Helm
// merges into what it is given).
func copyValues(v map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(v) == 0 {
		return out, nil
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return out, nil
}

func describeChart(c *helmchart.Chart) string {
	return c.Name() + " " + c.Metadata.Version
}

// install installs the release; on failure it uninstalls what was installed.
func (c *Client) install(ctx context.Context, cfg *action.Configuration, ch Chart, loaded *helmchart.Chart, values map[string]any, pr *PostRenderer, opts ReleaseOptions) (*release.Release, error) {
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = ch.Release, ch.Namespace
	in.Wait, in.WaitForJobs, in.Timeout = true, true, opts.Wait.Timeout
	in.PostRenderer = pr
	rel, err := in.Run(loaded, values)
	if err == nil {
		return rel, nil
	}
	what := fmt.Sprintf("installing release %s/%s (chart %s)", ch.Namespace, ch.Release, describeChart(loaded))
	if ctx.Err() != nil {
		return nil, interrupted(ctx, what, last(cfg, ch.Release))
	}
	if last(cfg, ch.Release) == nil {
		return nil, fmt.Errorf("%s failed: %w", what, err) // nothing was recorded, nothing to undo
	}
	if uerr := uninstall(cfg, ch.Release, opts.Wait.Timeout); uerr != nil {
		return nil, fmt.Errorf("%s failed: %w; uninstalling it failed too: %v", what, err, uerr)
	}
	return nil, fmt.Errorf("%s failed, and it was uninstalled: %w", what, err)
}

// upgrade upgrades the release; on failure it rolls back to the last good revision.
func (c *Client) upgrade(ctx context.Context, cfg *action.Configuration, ch Chart, loaded *helmchart.Chart, values map[string]any, pr *PostRenderer, opts ReleaseOptions) (*release.Release, error) {
	up := action.NewUpgrade(cfg)
	up.Namespace = ch.Namespace
	up.Wait, up.WaitForJobs, up.Timeout = true, true, opts.Wait.Timeout
	up.ResetValues = true // the values given are the whole truth
	up.MaxHistory = opts.maxHistory()
	up.PostRenderer = pr
	rel, err := up.Run(ch.Release, loaded, values)
	if err == nil {
		return rel, nil
	}
	what := fmt.Sprintf("upgrading release %s/%s to chart %s", ch.Namespace, ch.Release, describeChart(loaded))
	if rel != nil {
		what += fmt.Sprintf(" (revision %d)", rel.Version)
	}
	if ctx.Err() != nil {
		return nil, interrupted(ctx, what, last(cfg, ch.Release))
	}
	good := lastGood(cfg, ch.Release)
	if good == nil || rel == nil {
		return nil, fmt.Errorf("%s failed: %w", what, err) // it failed before changing anything
	}
	back, rerr := rollback(cfg, ch.Release, good.Version, opts)
	if rerr != nil {
		return nil, fmt.Errorf("%s failed: %w; rolling back to revision %d failed too: %v", what, err, good.Version, rerr)
	}
	return nil, fmt.Errorf("%s failed, and it was rolled back to revision %d (chart %s; now revision %d): %w",
		what, good.Version, describeChart(good.Chart), back.Version, err)
}

// rollback makes a new revision with revision version's chart and values, and waits for it.
func rollback(cfg *action.Configuration, name string, version int, opts ReleaseOptions) (*release.Release, error) {
	rb := action.NewRollback(cfg)
	rb.Version = version
	rb.Wait, rb.WaitForJobs, rb.Timeout = true, true, opts.Wait.Timeout
	rb.MaxHistory = opts.maxHistory()
	if err := rb.Run(name); err != nil {
		return nil, err
	}
	return cfg.Releases.Last(name)
}

// uninstall removes the release, its objects and its records, waiting for the objects to go.
func uninstall(cfg *action.Configuration, name string, timeout time.Duration) error {
	un := action.NewUninstall(cfg)
	un.Wait, un.Timeout = true, timeout
	_, err := un.Run(name)
	return err
}

// last is the release's newest record, or nil.
func last(cfg *action.Configuration, name string) *release.Release {
	rel, err := cfg.Releases.Last(name)
	if err != nil {
		return nil
	}
	return rel
}

// lastGood is the newest revision that was deployed successfully (deployed, or superseded by a
// later one), or nil.
func lastGood(cfg *action.Configuration, name string) *release.Release {
	history, err := cfg.Releases.History(name)
	if err != nil {
		return nil
	}
	var good *release.Release
	for _, r := range history {
		if s := r.Info.Status; (s == release.StatusDeployed || s == release.StatusSuperseded) && (good == nil || r.Version > good.Version) {
			good = r
		}
	}
	return good
}
