package provider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/workload"
)

var (
	_ resource.ResourceWithConfigure  = (*manifestResource)(nil)
	_ resource.ResourceWithModifyPlan = (*manifestResource)(nil)
)

func newManifestResource() resource.Resource { return &manifestResource{} }

// manifestResource applies a verified bundle's plain manifests as one set.
type manifestResource struct{ data *providerData }

type manifestModel struct {
	ID                 types.String `tfsdk:"id"`
	Name               types.String `tfsdk:"name"`
	Bundle             types.String `tfsdk:"bundle"`
	Registry           types.String `tfsdk:"registry"`
	RepositoryPrefix   types.String `tfsdk:"repository_prefix"`
	Manifests          types.List   `tfsdk:"manifests"`
	Namespace          types.String `tfsdk:"namespace"`
	InventoryNamespace types.String `tfsdk:"inventory_namespace"`
	Timeout            types.String `tfsdk:"timeout"`

	BOMDigest          types.String `tfsdk:"bom_digest"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	ManifestDigest     types.String `tfsdk:"manifest_digest"`
	Images             types.Map    `tfsdk:"images"`
	Objects            types.List   `tfsdk:"objects"`
	Drift              types.List   `tfsdk:"drift"`
	Receipt            types.String `tfsdk:"receipt"`
}

func (r *manifestResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_manifest"
}

func (r *manifestResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d, ok := req.ProviderData.(*providerData); ok {
		r.data = d
	}
}

func (r *manifestResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Applies the plain Kubernetes manifests a verified bundle carries, as one set, by server-side apply " +
			"under the provider's field manager. Every container image is rewritten to the in-cluster registry and pinned by " +
			"digest; an image the bundle does not carry is an error at plan time. Objects the set owned and no longer contains " +
			"are pruned. Read notices objects deleted or images changed by hand, and the next plan restores them. " +
			"Each apply and destroy leaves a deployment receipt.",
		Attributes: map[string]schema.Attribute{
			"id":   schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}, MarkdownDescription: "`INVENTORY_NAMESPACE/NAME`."},
			"name": schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "The set's name (a DNS label); its inventory is the ConfigMap `airgap-manifests-NAME`."},
			"bundle": schema.StringAttribute{Required: true,
				MarkdownDescription: "The bundle carrying the manifests: a local path or `s3://bucket/key`. Verified under the provider's trust; every byte before anything is applied."},
			"registry":          schema.StringAttribute{Required: true, MarkdownDescription: "The in-cluster registry the images were mirrored to, such as `airgap_registry.this.endpoint`."},
			"repository_prefix": schema.StringAttribute{Optional: true, MarkdownDescription: "The `repository_prefix` the images were mirrored with."},
			"manifests": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Which of the bundle's manifest files, by the name they were built from or their path in the bundle; unset: all, in the bundle's order."},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("default"),
				MarkdownDescription: "Namespace of namespaced objects that name none."},
			"inventory_namespace": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				MarkdownDescription: "Where the set's inventory lives; unset: `namespace`. It must exist, or be created by the set."},
			"timeout":             schema.StringAttribute{Optional: true, MarkdownDescription: "How long to wait for the objects to be ready; default `5m`."},
			"bom_digest":          schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the bundle's signed BOM."},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Fingerprints of the bundle's accepted signers."},
			"manifest_digest": schema.StringAttribute{Computed: true,
				MarkdownDescription: "sha256 over the objects as they will be applied (images rewritten): known at plan time. Empty in state when Read found drift, so the plan shows the set being restored."},
			"images": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Each image as the manifests name it, to the reference the cluster pulls."},
			"objects": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The set's objects, in apply order."},
			"drift":   schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "What Read found changed by hand; empty when the cluster holds the set as applied."},
			"receipt": schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the deployment receipt of the last apply."},
		},
	}
}

func (m manifestModel) inventoryNamespace() string {
	if ns := m.InventoryNamespace.ValueString(); ns != "" {
		return ns
	}
	return m.Namespace.ValueString()
}

// render opens the bundle (signatures), reads the chosen manifest files through the BOM and
// renders them with the images rewritten. It contacts nothing but the bundle.
func (r *manifestResource) render(ctx context.Context, m *manifestModel, apply bool) (*bundle.Bundle, *workload.Rendered, diag.Diagnostics) {
	var diags diag.Diagnostics
	b, err := r.data.openBundle(ctx, m.Bundle.ValueString())
	if !apply && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, diags // written later in this apply, which verifies it
	}
	if err != nil {
		diags.AddAttributeError(path.Root("bundle"), "Bundle rejected", err.Error())
		return nil, nil, diags
	}
	fail := func(attr, summary string, err error) (*bundle.Bundle, *workload.Rendered, diag.Diagnostics) {
		b.Close()
		diags.AddAttributeError(path.Root(attr), summary, err.Error())
		return nil, nil, diags
	}
	if apply { // every byte before anything is applied
		if err := b.VerifyPayload(ctx); err != nil {
			return fail("bundle", "Bundle rejected", fmt.Errorf("%w: nothing was applied", err))
		}
	}
	var want []string
	diags.Append(m.Manifests.ElementsAs(ctx, &want, false)...)
	var files []workload.File
	found := map[string]bool{}
	for _, mf := range b.BOM.Manifests {
		name := ""
		for _, w := range want {
			if w == mf.Source || w == mf.Path || w == filepath.Base(mf.Source) {
				name = w
			}
		}
		if len(want) > 0 && name == "" {
			continue
		}
		found[name] = true
		data, err := b.ReadEntry(mf.Path, maxManifestSize)
		if err != nil {
			return fail("bundle", "Cannot read a manifest", err)
		}
		files = append(files, workload.File{Name: mf.Source, Data: data})
	}
	for _, w := range want {
		if !found[w] {
			var have []string
			for _, mf := range b.BOM.Manifests {
				have = append(have, mf.Source)
			}
			return fail("manifests", "No such manifest", fmt.Errorf("the bundle has no manifest %q; it has %q", w, have))
		}
	}
	if len(files) == 0 {
		return fail("bundle", "No manifests", errors.New("the bundle carries no manifest files"))
	}
	images, err := workloadImages(b, m.Registry.ValueString(), m.RepositoryPrefix.ValueString())
	if err != nil {
		return fail("registry", "Invalid registry", err)
	}
	rendered, err := workload.Render(files, images)
	if err != nil {
		return fail("bundle", "Cannot apply the bundle's manifests", err)
	}
	var d diag.Diagnostics
	m.ID = types.StringValue(m.inventoryNamespace() + "/" + m.Name.ValueString())
	m.BOMDigest = types.StringValue(b.BOMDigest)
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, fingerprints(b))
	diags.Append(d...)
	m.ManifestDigest = types.StringValue(rendered.Digest)
	m.Images, d = imageChanges(rendered.Images)
	diags.Append(d...)
	var objs []string
	for _, o := range rendered.Objects {
		objs = append(objs, o.Ref().String())
	}
	m.Objects, d = types.ListValueFrom(ctx, types.StringType, nonNil(objs))
	diags.Append(d...)
	m.Drift = types.ListValueMust(types.StringType, nil)
	return b, rendered, diags
}

// ModifyPlan shows, at plan time, the digest of what will be applied, every image before and
// after, and the objects.
func (r *manifestResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan manifestModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Bundle.IsUnknown() || plan.Registry.IsUnknown() || plan.RepositoryPrefix.IsUnknown() || plan.Manifests.IsUnknown() {
		return
	}
	b, _, diags := r.render(ctx, &plan, false)
	resp.Diagnostics.Append(diags...)
	if b == nil {
		return
	}
	b.Close()
	if !req.State.Raw.IsNull() {
		var state manifestModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.ManifestDigest.Equal(plan.ManifestDigest) && state.BOMDigest.Equal(plan.BOMDigest) {
			plan.Receipt = state.Receipt // nothing to apply: no new receipt
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *manifestResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, receipt.ActionInstall)...)
}

func (r *manifestResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, receipt.ActionUpgrade)...)
}

func (r *manifestResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, action receipt.Action) diag.Diagnostics {
	var m manifestModel
	diags := plan.Get(ctx, &m)
	timeout, d := parseTimeout(m.Timeout, "timeout")
	if diags.Append(d...); diags.HasError() {
		return diags
	}
	b, rendered, d := r.render(ctx, &m, true)
	if diags.Append(d...); diags.HasError() {
		return diags
	}
	defer b.Close()
	wc := r.data.workloads(&diags)
	if diags.HasError() {
		return diags
	}
	res, err := wc.Apply(ctx, workload.Set{Name: m.Name.ValueString(), InventoryNamespace: m.inventoryNamespace(),
		DefaultNamespace: m.Namespace.ValueString(), Manifest: rendered},
		workload.ApplyOptions{FieldManager: fieldManager, Wait: workload.WaitOptions{Timeout: timeout}})
	if err != nil {
		diags.AddError("Applying the manifests failed", err.Error())
		return diags
	}
	tflog.Info(ctx, "manifests applied", map[string]any{"set": m.ID.ValueString(), "digest": rendered.Digest,
		"applied": len(res.Applied), "pruned": refs(res.Pruned), "abandoned": refs(res.Abandoned)})
	m.Receipt, d = r.data.record(ctx, receipt.Receipt{
		Action: action, Resource: "airgap_manifest " + m.ID.ValueString(),
		Bundles: []receipt.Bundle{bundleRecord(b)}, Images: receiptImages(rendered.Images),
		Releases: []receipt.Release{{Kind: receipt.KindManifest, Name: m.Name.ValueString(), Namespace: m.inventoryNamespace(), ManifestDigest: rendered.Digest}},
	})
	diags.Append(d...)
	diags.Append(state.Set(ctx, &m)...)
	return diags
}

func refs(rs []workload.ObjectRef) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

// Read compares the live objects with the set's inventory; drift empties manifest_digest so
// that the plan shows the set being restored.
func (r *manifestResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m manifestModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	wc := r.data.workloads(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	live, err := wc.Read(ctx, m.inventoryNamespace(), m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Reading the manifests failed", err.Error())
		return
	}
	if live.Inventory == nil {
		tflog.Warn(ctx, "the manifest set's inventory is gone", map[string]any{"set": m.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	drift := nonNil(live.Differences())
	m.Drift = types.ListValueMust(types.StringType, stringValues(drift))
	if len(drift) > 0 || live.Inventory.Digest != m.ManifestDigest.ValueString() {
		tflog.Warn(ctx, "the manifest set drifted: the next apply restores it", map[string]any{"set": m.ID.ValueString(), "drift": drift})
		m.ManifestDigest = types.StringValue("")
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *manifestResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m manifestModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	timeout, d := parseTimeout(m.Timeout, "timeout")
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	wc := r.data.workloads(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	digest := m.ManifestDigest.ValueString()
	if digest == "" { // drifted: the receipt names what was applied last
		if live, err := wc.Read(ctx, m.inventoryNamespace(), m.Name.ValueString()); err == nil && live.Inventory != nil {
			digest = live.Inventory.Digest
		}
	}
	res, err := wc.Delete(ctx, m.inventoryNamespace(), m.Name.ValueString(), timeout)
	if err != nil {
		resp.Diagnostics.AddError("Deleting the manifests failed", err.Error())
		return
	}
	tflog.Info(ctx, "manifests deleted", map[string]any{"set": m.ID.ValueString(), "result": fmt.Sprintf("%+v", res)})
	var images map[string]string
	resp.Diagnostics.Append(m.Images.ElementsAs(ctx, &images, false)...)
	var ims []receipt.Image
	for _, src := range slices.Sorted(maps.Keys(images)) {
		ims = append(ims, receipt.Image{Source: src, Deployed: images[src]})
	}
	_, d = r.data.record(ctx, receipt.Receipt{Action: receipt.ActionDelete, Resource: "airgap_manifest " + m.ID.ValueString(), Images: ims,
		Releases: []receipt.Release{{Kind: receipt.KindManifest, Name: m.Name.ValueString(), Namespace: m.inventoryNamespace(), ManifestDigest: digest}}})
	resp.Diagnostics.Append(d...)
}
