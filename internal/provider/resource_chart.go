package provider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

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
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/workload"
)

var (
	_ resource.ResourceWithConfigure  = (*chartResource)(nil)
	_ resource.ResourceWithModifyPlan = (*chartResource)(nil)
)

func newChartResource() resource.Resource { return &chartResource{} }

// chartResource is a Helm release of a chart a verified bundle carries.
type chartResource struct{ data *providerData }

type chartModel struct {
	ID               types.String `tfsdk:"id"`
	Name             types.String `tfsdk:"name"`
	Namespace        types.String `tfsdk:"namespace"`
	Bundle           types.String `tfsdk:"bundle"`
	Chart            types.String `tfsdk:"chart"`
	Registry         types.String `tfsdk:"registry"`
	RepositoryPrefix types.String `tfsdk:"repository_prefix"`
	Values           types.String `tfsdk:"values"`
	Timeout          types.String `tfsdk:"timeout"`
	MaxHistory       types.Int64  `tfsdk:"max_history"`

	BOMDigest          types.String `tfsdk:"bom_digest"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	ChartVersion       types.String `tfsdk:"chart_version"`
	ManifestDigest     types.String `tfsdk:"manifest_digest"`
	Images             types.Map    `tfsdk:"images"`
	Revision           types.Int64  `tfsdk:"revision"`
	Status             types.String `tfsdk:"status"`
	Receipt            types.String `tfsdk:"receipt"`
}

func (r *chartResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_chart"
}

func (r *chartResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d, ok := req.ProviderData.(*providerData); ok {
		r.data = d
	}
}

func (r *chartResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Helm release (Helm v3 SDK) of a chart a verified bundle carries. Every image in the rendered " +
			"manifest is rewritten to the in-cluster registry and pinned by digest (a post-renderer); an image the bundle does " +
			"not carry is an error at plan time. Install and upgrade are atomic: a failure rolls back (or uninstalls a first " +
			"install) and says why; a release an interrupted apply left pending is recovered first. Rolling back is applying " +
			"the older bundle. The plan shows the chart version, the rendered manifest's digest and every image. Each apply " +
			"and destroy leaves a deployment receipt.",
		Attributes: map[string]schema.Attribute{
			"id":        schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}, MarkdownDescription: "`NAMESPACE/NAME`."},
			"name":      schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "The release's name."},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("default"), PlanModifiers: replace, MarkdownDescription: "The release's namespace; created when missing (and left in place by destroy)."},
			"bundle": schema.StringAttribute{Required: true,
				MarkdownDescription: "The bundle carrying the chart: a local path or `s3://bucket/key`. Verified under the provider's trust; every byte before anything is applied."},
			"chart":             schema.StringAttribute{Optional: true, MarkdownDescription: "The chart's name in the bundle; unset: the bundle's only chart."},
			"registry":          schema.StringAttribute{Required: true, MarkdownDescription: "The in-cluster registry the images were mirrored to, such as `airgap_registry.this.endpoint`."},
			"repository_prefix": schema.StringAttribute{Optional: true, MarkdownDescription: "The `repository_prefix` the images were mirrored with."},
			"values": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Values over the chart's defaults, as YAML or JSON (`yamlencode({...})`). They are the whole truth: values of an earlier apply not given again are dropped."},
			"timeout":             schema.StringAttribute{Optional: true, MarkdownDescription: "How long to wait for the release to be ready; default `5m`."},
			"max_history":         schema.Int64Attribute{Optional: true, MarkdownDescription: "Revisions Helm keeps; default 10."},
			"bom_digest":          schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the bundle's signed BOM."},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Fingerprints of the bundle's accepted signers."},
			"chart_version":       schema.StringAttribute{Computed: true, MarkdownDescription: "The chart's version, from the signed BOM."},
			"manifest_digest": schema.StringAttribute{Computed: true,
				MarkdownDescription: "sha256 over the rendered manifest's objects (images rewritten), known at plan time; Read shows the live release's, so a release changed outside Terraform shows in the plan."},
			"images":   schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Each image as the chart names it, to the reference the cluster pulls."},
			"revision": schema.Int64Attribute{Computed: true, MarkdownDescription: "The release's revision."},
			"status":   schema.StringAttribute{Computed: true, MarkdownDescription: "The release's status (`deployed` after a successful apply)."},
			"receipt":  schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the deployment receipt of the last apply."},
		},
	}
}

// chartSource is a chart read from a verified bundle, rendered for the plan.
type chartSource struct {
	b        *bundle.Bundle
	entry    bundle.Chart
	archive  []byte
	values   map[string]any
	images   workload.ImageMapper
	rendered *workload.Rendered
}

func (r *chartResource) source(ctx context.Context, m *chartModel, apply bool) (*chartSource, diag.Diagnostics) {
	var diags diag.Diagnostics
	b, err := r.data.openBundle(ctx, m.Bundle.ValueString())
	if !apply && errors.Is(err, fs.ErrNotExist) {
		return nil, diags // written later in this apply, which verifies it
	}
	if err != nil {
		diags.AddAttributeError(path.Root("bundle"), "Bundle rejected", err.Error())
		return nil, diags
	}
	fail := func(attr, summary string, err error) (*chartSource, diag.Diagnostics) {
		b.Close()
		diags.AddAttributeError(path.Root(attr), summary, err.Error())
		return nil, diags
	}
	if apply { // every byte before anything is applied
		if err := b.VerifyPayload(ctx); err != nil {
			return fail("bundle", "Bundle rejected", fmt.Errorf("%w: nothing was applied", err))
		}
	}
	src := &chartSource{b: b, values: map[string]any{}}
	var names []string
	for _, c := range b.BOM.Charts {
		names = append(names, c.Name)
		if c.Name == m.Chart.ValueString() || m.Chart.ValueString() == "" && len(b.BOM.Charts) == 1 {
			src.entry = c
		}
	}
	if src.entry.Path == "" {
		return fail("chart", "No such chart", fmt.Errorf("the bundle carries charts %q: name one (chart = ...)", names))
	}
	if src.archive, err = b.ReadEntry(src.entry.Path, 64<<20); err != nil {
		return fail("bundle", "Cannot read the chart", err)
	}
	if v := m.Values.ValueString(); strings.TrimSpace(v) != "" {
		if err := yaml.Unmarshal([]byte(v), &src.values); err != nil {
			return fail("values", "Invalid values", fmt.Errorf("values must be a YAML or JSON object: %w", err))
		}
	}
	if src.images, err = workloadImages(b, m.Registry.ValueString(), m.RepositoryPrefix.ValueString()); err != nil {
		return fail("registry", "Invalid registry", err)
	}
	if src.rendered, err = workload.RenderChart(src.archive, src.values, m.Name.ValueString(), m.Namespace.ValueString(), src.images); err != nil {
		return fail("values", "Cannot render the chart", err)
	}
	var d diag.Diagnostics
	m.ID = types.StringValue(m.Namespace.ValueString() + "/" + m.Name.ValueString())
	m.BOMDigest = types.StringValue(b.BOMDigest)
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, fingerprints(b))
	diags.Append(d...)
	m.ChartVersion = types.StringValue(src.entry.Version)
	m.ManifestDigest = types.StringValue(src.rendered.Digest)
	m.Images, d = imageChanges(src.rendered.Images)
	diags.Append(d...)
	return src, diags
}

// ModifyPlan shows the chart version, the rendered manifest's digest and every image, from the
// signed bundle, before anything happens.
func (r *chartResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan chartModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Bundle.IsUnknown() || plan.Registry.IsUnknown() || plan.RepositoryPrefix.IsUnknown() ||
		plan.Values.IsUnknown() || plan.Chart.IsUnknown() {
		return
	}
	src, diags := r.source(ctx, &plan, false)
	resp.Diagnostics.Append(diags...)
	if src == nil {
		return
	}
	src.b.Close()
	if !req.State.Raw.IsNull() {
		var state chartModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.ManifestDigest.Equal(plan.ManifestDigest) && state.BOMDigest.Equal(plan.BOMDigest) && state.Status.ValueString() == "deployed" {
			plan.Revision, plan.Status, plan.Receipt = state.Revision, state.Status, state.Receipt
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *chartResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, receipt.ActionInstall)...)
}

func (r *chartResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, receipt.ActionUpgrade)...)
}

func (r *chartResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, action receipt.Action) diag.Diagnostics {
	var m chartModel
	diags := plan.Get(ctx, &m)
	timeout, d := parseTimeout(m.Timeout, "timeout")
	if diags.Append(d...); diags.HasError() {
		return diags
	}
	src, d := r.source(ctx, &m, true)
	if diags.Append(d...); diags.HasError() {
		return diags
	}
	defer src.b.Close()
	if err := r.ensureNamespace(ctx, m.Namespace.ValueString()); err != nil {
		diags.AddAttributeError(path.Root("namespace"), "Cannot create the namespace", err.Error())
		return diags
	}
	wc := r.data.workloads(&diags)
	if diags.HasError() {
		return diags
	}
	res, err := wc.ApplyChart(ctx, workload.Chart{Release: m.Name.ValueString(), Namespace: m.Namespace.ValueString(),
		Archive: src.archive, Values: src.values, Images: src.images},
		workload.ReleaseOptions{Wait: workload.WaitOptions{Timeout: timeout}, MaxHistory: int(m.MaxHistory.ValueInt64())})
	if err != nil {
		diags.AddError("The release failed", err.Error())
		return diags
	}
	if res.Recovered != "" {
		diags.AddWarning("A pending release was recovered", res.Recovered)
	}
	tflog.Info(ctx, "release applied", map[string]any{"release": m.ID.ValueString(), "revision": res.Revision, "status": res.Status, "manifest_digest": res.ManifestDigest})
	if res.ManifestDigest != m.ManifestDigest.ValueString() {
		diags.AddWarning("The release differs from the plan", fmt.Sprintf("planned manifest %s, the release has %s: the chart may use cluster capabilities the plan could not see", m.ManifestDigest.ValueString(), res.ManifestDigest))
		m.ManifestDigest = types.StringValue(res.ManifestDigest)
	}
	m.Revision = types.Int64Value(int64(res.Revision))
	m.Status = types.StringValue(res.Status)
	m.Receipt, d = r.data.record(ctx, receipt.Receipt{
		Action: action, Resource: "airgap_chart " + m.ID.ValueString(),
		Bundles: []receipt.Bundle{bundleRecord(src.b)}, Images: receiptImages(src.rendered.Images),
		Releases: []receipt.Release{{Kind: receipt.KindChart, Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(),
			Revision: int64(res.Revision), ChartVersion: src.entry.Version, ManifestDigest: res.ManifestDigest}},
	})
	diags.Append(d...)
	diags.Append(state.Set(ctx, &m)...)
	return diags
}

func (r *chartResource) ensureNamespace(ctx context.Context, ns string) error {
	cs, err := r.data.kubeClient()
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"app.kubernetes.io/managed-by": fieldManager}}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// Read shows the live release: a revision, status or manifest changed outside Terraform shows in
// the next plan.
func (r *chartResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m chartModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	wc := r.data.workloads(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	st, err := wc.ReleaseStatus(ctx, m.Namespace.ValueString(), m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Reading the release failed", err.Error())
		return
	}
	if st == nil {
		tflog.Warn(ctx, "the release is gone", map[string]any{"release": m.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	m.Revision = types.Int64Value(int64(st.Revision))
	m.Status = types.StringValue(st.Status)
	m.ManifestDigest = types.StringValue(st.ManifestDigest)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *chartResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m chartModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	timeout, d := parseTimeout(m.Timeout, "timeout")
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	wc := r.data.workloads(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := wc.Uninstall(ctx, m.Namespace.ValueString(), m.Name.ValueString(), timeout); err != nil {
		resp.Diagnostics.AddError("Uninstalling the release failed", err.Error())
		return
	}
	var images map[string]string
	resp.Diagnostics.Append(m.Images.ElementsAs(ctx, &images, false)...)
	var ims []receipt.Image
	for src, dst := range images {
		ims = append(ims, receipt.Image{Source: src, Deployed: dst})
	}
	_, d = r.data.record(ctx, receipt.Receipt{Action: receipt.ActionDelete, Resource: "airgap_chart " + m.ID.ValueString(), Images: ims,
		Releases: []receipt.Release{{Kind: receipt.KindChart, Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(),
			Revision: m.Revision.ValueInt64(), ChartVersion: m.ChartVersion.ValueString(), ManifestDigest: m.ManifestDigest.ValueString()}}})
	resp.Diagnostics.Append(d...)
}
