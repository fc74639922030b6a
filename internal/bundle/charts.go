package bundle

import (
	"fmt"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/chart"
)

// ChartSpec is a Helm chart to carry: a chart directory or a packaged .tgz. Values (YAML) are
// used only to render the chart at build time, so that every image the rendered manifests use
// is checked against the bundle's images.
type ChartSpec struct {
	Path      string
	Values    string
	Namespace string
}

func chartEntries(specs []ChartSpec, b *BOM, ix imageIndex) ([]entrySource, error) {
	var out []entrySource
	used := map[string]bool{}
	for _, s := range specs {
		refs, loaded, err := renderChartImages(s, b.Created)
		if err != nil {
			return nil, err
		}
		c := loaded.Chart
		if err := requireCarried(ix, "chart "+s.Path, refs); err != nil {
			return nil, err
		}
		entry := uniqueName("charts/", c.Name()+"-"+c.Metadata.Version+".tgz", used)
		b.Charts = append(b.Charts, Chart{Name: c.Name(), Version: c.Metadata.Version, AppVersion: c.Metadata.AppVersion, Path: entry, Images: refs})
		out = append(out, memEntry(entry, loaded.Archive))
	}
	return out, nil
}

// renderChartImages loads and renders a chart and returns the images its manifests use.
func renderChartImages(s ChartSpec, created time.Time) ([]string, *chart.Loaded, error) {
	loaded, err := chart.Load(s.Path, created)
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: %w", s.Path, err)
	}
	ns := s.Namespace
	if ns == "" {
		ns = "default"
	}
	rendered, err := chart.Render(loaded.Chart, s.Values, loaded.Chart.Name(), ns)
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: %w", s.Path, err)
	}
	refs, err := ScanImages([]byte(rendered))
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: rendered manifests: %w", s.Path, err)
	}
	return refs, loaded, nil
}
