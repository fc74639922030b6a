package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/objstore"
)

// defaultPresignLifetime is how long presigned links to the BOM and the SBOM stay valid.
const defaultPresignLifetime = 24 * time.Hour

// upload publishes a built bundle to the object store: every file of it (the parts of a split
// bundle keep their suffixes), and the BOM and the SBOM as objects of their own beside it, with
// presigned links to those two for an auditor with a browser.
func (r *bundleResource) upload(ctx context.Context, m *bundleResourceModel, res *bundle.Result) error {
	dest, err := objstore.ParseURL(m.UploadTo.ValueString())
	if err != nil {
		return fmt.Errorf("upload_to: %w", err)
	}
	lifetime := defaultPresignLifetime
	if v := m.PresignLifetime.ValueString(); v != "" {
		if lifetime, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("presign_lifetime: %w", err)
		}
	}
	if r.data == nil {
		return fmt.Errorf("upload_to needs the provider's object_store configuration")
	}
	client, err := r.data.objectStore(ctx)
	if err != nil {
		return err
	}
	output := m.Output.ValueString()
	var uploaded []string
	for _, f := range res.Files {
		key := dest.Key + strings.TrimPrefix(f, output) // "" or ".partNNN"
		u, err := client.Upload(ctx, dest.Bucket, key, f)
		if err != nil {
			return fmt.Errorf("uploading %s: %w", f, err)
		}
		tflog.Info(ctx, "bundle uploaded", map[string]any{"object": dest.Bucket + "/" + key, "sent": u.Sent, "skipped": u.Skipped, "resumed": u.Resumed})
		uploaded = append(uploaded, objstore.Location{Bucket: dest.Bucket, Key: key}.String())
	}
	links := map[string]string{}
	for _, e := range []struct{ entry, suffix string }{{bundle.BOMPath, ".bom.json"}, {res.BOM.SBOM, ".sbom.cdx.json"}} {
		data, err := evidenceBytes(output, e.entry)
		if err != nil {
			return err
		}
		tmp := filepath.Join(os.TempDir(), fmt.Sprintf("airgap-%d%s", time.Now().UnixNano(), e.suffix))
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		_, err = client.Upload(ctx, dest.Bucket, dest.Key+e.suffix, tmp)
		os.Remove(tmp)
		if err != nil {
			return fmt.Errorf("uploading %s: %w", e.suffix, err)
		}
		if links[e.suffix], err = client.PresignGet(ctx, dest.Bucket, dest.Key+e.suffix, lifetime); err != nil {
			return err
		}
	}
	list, diags := types.ListValueFrom(ctx, types.StringType, uploaded)
	if diags.HasError() {
		return fmt.Errorf("recording the uploaded objects: %v", diags)
	}
	m.Uploaded = list
	m.BOMURL, m.SBOMURL = types.StringValue(links[".bom.json"]), types.StringValue(links[".sbom.cdx.json"])
	return nil
}

// evidenceBytes returns the BOM (from the head) or an entry (checked against the BOM).
func evidenceBytes(output, entry string) ([]byte, error) {
	if entry == bundle.BOMPath {
		head, _, err := bundle.ReadHead(output)
		if err != nil {
			return nil, err
		}
		return head.BOMBytes, nil
	}
	return bundle.ReadLocalEntry(output, entry, bundle.MaxManifestSize*4)
}
