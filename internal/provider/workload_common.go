package provider

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
	"github.com/openairgap/terraform-provider-airgap/internal/workload"
)

// FieldManager owns every field the provider applies to workloads.
const fieldManager = "terraform-provider-airgap"

// defaultWorkloadTimeout bounds the readiness wait of a chart or a manifest set.
const defaultWorkloadTimeout = 5 * time.Minute

// maxManifestSize bounds one manifest file read from a bundle.
const maxManifestSize = 16 << 20

// workloadImages maps every image a bundle carries to where it is in the registry, pinned by
// digest: the same rule as airgap_image_mirror and image_ref. An image the bundle lacks is an
// error, at plan time.
func workloadImages(b *bundle.Bundle, host, prefix string) (workload.ImageMapper, error) {
	refs, err := registry.Target{Host: host, Prefix: prefix}.References(b.BOM)
	if err != nil {
		return nil, err
	}
	return workload.Mapper(refs), nil
}

// imageChanges is the images attribute: each image as the chart or manifest names it, to the
// reference the cluster will pull.
func imageChanges(changes []workload.ImageChange) (types.Map, diag.Diagnostics) {
	m := map[string]string{}
	for _, c := range changes {
		m[c.Before] = c.After
	}
	return types.MapValueFrom(context.Background(), types.StringType, m)
}

// receiptImages lists the images of a deployment for its receipt.
func receiptImages(changes []workload.ImageChange) []receipt.Image {
	seen := map[receipt.Image]bool{}
	var out []receipt.Image
	for _, c := range changes {
		im := receipt.Image{Source: c.Before, Deployed: c.After}
		if !seen[im] {
			seen[im] = true
			out = append(out, im)
		}
	}
	slices.SortFunc(out, func(a, b receipt.Image) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Deployed, b.Deployed))
	})
	return out
}

// parseTimeout reads a duration attribute, defaulting when unset.
func parseTimeout(v types.String, attr string) (time.Duration, diag.Diagnostics) {
	var diags diag.Diagnostics
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return defaultWorkloadTimeout, diags
	}
	d, err := time.ParseDuration(v.ValueString())
	if err != nil || d <= 0 {
		diags.AddAttributeError(path.Root(attr), "Invalid duration", fmt.Sprintf("%q: want a positive duration such as 5m or 90s", v.ValueString()))
	}
	return d, diags
}

// record appends a deployment receipt; a failure to record is an error of the apply, which
// has happened: the diagnostic says so.
func (d *providerData) record(ctx context.Context, r receipt.Receipt) (types.String, diag.Diagnostics) {
	var diags diag.Diagnostics
	digest, err := d.recordDeployment(ctx, r)
	if err != nil && digest != "" { // in the cluster; only the file copy failed
		diags.AddWarning("The receipt's file copy failed", fmt.Sprintf("Receipt %s of %s is in the cluster, but writing its file copy failed: %v", digest, r.Resource, err))
		return types.StringValue(digest), diags
	}
	if err != nil {
		diags.AddError("Recording the deployment receipt failed",
			fmt.Sprintf("The %s of %s was applied, but its receipt could not be recorded: %v. Apply again to record it.", r.Action, r.Resource, err))
		return types.StringValue(""), diags
	}
	return types.StringValue(digest), diags
}
