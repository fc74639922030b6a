package registry

import (
	"fmt"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// Reference is where Mirror puts an image of a BOM: host/repository@digest, pinned. It needs the
// BOM alone, so a plan shows it before anything is pushed; the provider's image_ref function
// uses the same rule.
func (t Target) Reference(img bundle.Image) (string, error) {
	if err := t.validate(); err != nil {
		return "", err
	}
	repo, err := t.repository(img.Name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%s@%s", t.Host, repo, img.Digest), nil
}

// References maps each image's reference, as the BOM records it, to Reference.
func (t Target) References(bom *bundle.BOM) (map[string]string, error) {
	out := make(map[string]string, len(bom.Images))
	for _, img := range bom.Images {
		r, err := t.Reference(img)
		if err != nil {
			return nil, err
		}
		out[img.Ref] = r
	}
	return out, nil
}
