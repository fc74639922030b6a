package workload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// ReleaseStatus reads the release's newest record; nil when there is no release. It only reads.
func (c *Client) ReleaseStatus(ctx context.Context, namespace, name string) (*ReleaseStatus, error) {
	cfg, err := c.helmConfig(ctx, namespace, WaitOptions{}, 0)
	if err != nil {
		return nil, err
	}
	rel, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading release %s/%s: %w", namespace, name, err)
	}
	return releaseStatus(rel)
}

// Uninstall removes the release, its objects and its records, waiting at most timeout for the
// objects to go. A release that does not exist is already uninstalled.
func (c *Client) Uninstall(ctx context.Context, namespace, name string, timeout time.Duration) error {
	cfg, err := c.helmConfig(ctx, namespace, WaitOptions{}, 0)
	if err != nil {
		return err
	}
	if last(cfg, name) == nil {
		return nil
	}
	if err := uninstall(cfg, name, timeout); err != nil {
		return fmt.Errorf("uninstalling release %s/%s: %w", namespace, name, err)
	}
	return nil
}

func releaseStatus(rel *release.Release) (*ReleaseStatus, error) {
	objs, err := Parse(File{Name: "release " + rel.Name + " manifest", Data: []byte(rel.Manifest)})
	if err != nil {
		return nil, err
	}
	digest, err := ManifestDigest(objs)
	if err != nil {
		return nil, err
	}
	images, err := Images(objs)
	if err != nil {
		return nil, err
	}
	st := &ReleaseStatus{
		Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version,
		ManifestDigest: digest, Images: images,
	}
	if rel.Info != nil {
		st.Status, st.Description = rel.Info.Status.String(), rel.Info.Description
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		st.Chart, st.ChartVersion, st.AppVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version, rel.Chart.Metadata.AppVersion
	}
	return st, nil
}
