package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

// Loaded is a chart with the exact .tgz bytes that carry it.
type Loaded struct {
	Chart   *chart.Chart
	Archive []byte
}

// Load reads a chart directory or a packaged .tgz. A .tgz is carried byte for byte; a directory
// is packaged deterministically (sorted entries, fixed times, no gzip name or time), so equal
// directories give equal archives.
func Load(src string, mtime time.Time) (*Loaded, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		c, err := loader.LoadArchive(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("loading chart archive: %w", err)
		}
		return &Loaded{Chart: c, Archive: data}, nil
	}
	c, err := loader.LoadDir(src)
	if err != nil {
		return nil, fmt.Errorf("loading chart directory: %w", err)
	}
	archive, err := Package(c, mtime)
	if err != nil {
		return nil, err
	}
	return &Loaded{Chart: c, Archive: archive}, nil
}

// LoadArchive reads a packaged chart from memory.
func LoadArchive(data []byte) (*chart.Chart, error) {
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("loading chart archive: %w", err)
	}
	return c, nil
}

// Package writes the chart's files, as loaded, into a .tgz under "<name>/".
func Package(c *chart.Chart, mtime time.Time) ([]byte, error) {
	files := append([]*chart.File(nil), c.Raw...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{
			Name: path.Join(c.Name(), f.Name), Mode: 0o644, Size: int64(len(f.Data)),
			ModTime: mtime.UTC().Truncate(time.Second), Typeflag: tar.TypeReg, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Render renders the chart's templates as an install of release name into namespace, with values
// (YAML) over the chart's defaults, and returns the manifests as one YAML stream in a stable order.
// NOTES.txt and partials are left out.
func Render(c *chart.Chart, valuesYAML, name, namespace string) (string, error) {
	vals := map[string]any{}
	if strings.TrimSpace(valuesYAML) != "" {
		if err := yaml.Unmarshal([]byte(valuesYAML), &vals); err != nil {
			return "", fmt.Errorf("values are not valid YAML: %w", err)
		}
	}
	if err := chartutil.ProcessDependenciesWithMerge(c, vals); err != nil {
		return "", fmt.Errorf("chart dependencies: %w", err)
	}
	top, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{Name: name, Namespace: namespace, IsInstall: true, Revision: 1}, chartutil.DefaultCapabilities)
	if err != nil {
		return "", fmt.Errorf("values: %w", err)
	}
	out, err := engine.Render(c, top)
	if err != nil {
		return "", fmt.Errorf("rendering: %w", err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		if strings.HasSuffix(n, "NOTES.txt") || path.Base(n)[0] == '_' {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		if strings.TrimSpace(out[n]) == "" {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", n, strings.TrimSpace(out[n]))
	}
	return b.String(), nil
}
