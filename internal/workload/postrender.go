package workload

import (
	"bytes"
	"fmt"

	"helm.sh/helm/v3/pkg/postrender"
	"sigs.k8s.io/yaml"
)

// PostRenderer rewrites the images of a Helm release's rendered manifest, as Helm hands it over
// before anything is sent to the cluster. It keeps Helm's "# Source:" comments, so errors and
// the stored manifest still name the chart's templates. Changes lists what the last Run rewrote.
type PostRenderer struct {
	Images  ImageMapper
	Changes []ImageChange
}

var _ postrender.PostRenderer = (*PostRenderer)(nil)

// Run implements postrender.PostRenderer.
func (p *PostRenderer) Run(rendered *bytes.Buffer) (*bytes.Buffer, error) {
	objs, err := Parse(File{Name: "rendered manifest", Data: rendered.Bytes()})
	if err != nil {
		return nil, err
	}
	changes, err := RewriteImages(objs, p.Images)
	if err != nil {
		return nil, err
	}
	out := &bytes.Buffer{}
	for _, o := range objs {
		doc, err := yaml.Marshal(o.Object.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Where(), err)
		}
		fmt.Fprintf(out, "---\n# Source: %s\n%s", o.Source, doc)
	}
	p.Changes = changes
	return out, nil
}
