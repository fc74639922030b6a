package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/deploy"
	"github.com/openairgap/terraform-provider-airgap/internal/inject"
)

var (
	_ resource.ResourceWithConfigure  = (*injectionResource)(nil)
	_ resource.ResourceWithModifyPlan = (*injectionResource)(nil)
)

func newInjectionResource() resource.Resource { return &injectionResource{} }

// injectionResource seeds a cluster that cannot pull any image with the registry's image, served
// by the injector from ConfigMaps on a NodePort.
type injectionResource struct{ data *providerData }

type injectionModel struct {
	ID           types.String `tfsdk:"id"`
	SystemBundle types.String `tfsdk:"system_bundle"`
	Image        types.String `tfsdk:"image"`
	Namespace    types.String `tfsdk:"namespace"`
	Name         types.String `tfsdk:"name"`
	NodePort     types.Int64  `tfsdk:"node_port"`
	Node         types.String `tfsdk:"node"`

	BOMDigest          types.String `tfsdk:"bom_digest"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	Endpoint           types.String `tfsdk:"endpoint"`
	RegistryImage      types.String `tfsdk:"registry_image"`
	PayloadDigest      types.String `tfsdk:"payload_digest"`
	Chunks             types.Int64  `tfsdk:"chunks"`
	NodeName           types.String `tfsdk:"node_name"`
	Architecture       types.String `tfsdk:"architecture"`
	BorrowedImage      types.String `tfsdk:"borrowed_image"`
	Status             types.String `tfsdk:"status"`
}

func (r *injectionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_injection"
}

func (r *injectionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d, ok := req.ProviderData.(*providerData); ok {
		r.data = d
	}
}

func (r *injectionResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Seeds a cluster that cannot pull a single image with the in-cluster registry's image, the way " +
			"Zarf's injector does: the signed system bundle is verified (signature, then every byte) before anything is " +
			"created; the registry image is cut into ConfigMaps; a static injector, itself from the bundle, runs in a pod " +
			"on an image already on a node, reassembles the payload, checks its sha256 and serves it, pull-only, behind a " +
			"NodePort that every kubelet reaches on `127.0.0.1`. `airgap_registry` pulls its first image from here and " +
			"then retires the injection: its objects go, and this resource's `status` becomes `retired`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "`NAMESPACE/NAME`."},
			"system_bundle": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "The system bundle (`scripts/system-bundle.sh`): a local path or `s3://bucket/key`. Verified under the provider's trust."},
			"image": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				MarkdownDescription: "The registry image in the system bundle; unset: the bundle's only image."},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(inject.DefaultNamespace), PlanModifiers: replace,
				MarkdownDescription: "Namespace of the injector's objects; created when missing, and then deleted by destroy once empty."},
			"name": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(inject.DefaultName), PlanModifiers: replace,
				MarkdownDescription: "Names and labels every object of the injection."},
			"node_port": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(inject.DefaultNodePort),
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
				MarkdownDescription: "The NodePort the kubelet pulls from, on `127.0.0.1`; containerd must be allowed plain HTTP to it."},
			"node": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				MarkdownDescription: "Pin the injector to this node; unset: the first Ready node with a usable image."},
			"bom_digest": schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the system bundle's signed BOM."},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Fingerprints of the system bundle's accepted signers."},
			"endpoint": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the kubelet pulls from: `127.0.0.1:NODE_PORT`."},
			"registry_image": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The registry's image as the injector serves it, pinned by digest: what `airgap_registry` starts from."},
			"payload_digest": schema.StringAttribute{Computed: true,
				MarkdownDescription: "sha256 of the payload the injector checks before it serves; empty in state when Read found the injection broken, which plans a replacement."},
			"chunks":         schema.Int64Attribute{Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}, MarkdownDescription: "ConfigMaps the payload was cut into."},
			"node_name":      schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "The node the injector ran on."},
			"architecture":   schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "That node's architecture."},
			"borrowed_image": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "The image, already on the node, the injector ran in."},
			"status": schema.StringAttribute{Computed: true, PlanModifiers: keep,
				MarkdownDescription: "`serving`, or `retired` once a registry took over (its objects are gone on purpose)."},
		},
	}
}

// openSystem verifies the system bundle's signatures and reads the registry image and the
// injectors from it.
func (d *providerData) openSystem(ctx context.Context, path, image string) (*bundle.Bundle, *deploy.System, error) {
	b, err := d.openBundle(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	sys, err := deploy.FromBundle(b, image)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, sys, nil
}

func (r *injectionResource) system(ctx context.Context, m injectionModel) (*bundle.Bundle, *deploy.System, error) {
	return r.data.openSystem(ctx, m.SystemBundle.ValueString(), m.Image.ValueString())
}

// describe sets what the signed BOM tells, and the payload digest, computed from the bundle.
func describeInjection(ctx context.Context, m *injectionModel, b *bundle.Bundle, sys *deploy.System) diag.Diagnostics {
	var diags diag.Diagnostics
	digest, _, err := inject.WritePayload(io.Discard, sys.Payload.Images)
	if err != nil {
		diags.AddAttributeError(path.Root("system_bundle"), "Cannot build the injector payload", err.Error())
		return diags
	}
	endpoint := fmt.Sprintf("127.0.0.1:%d", m.NodePort.ValueInt64())
	m.ID = types.StringValue(m.Namespace.ValueString() + "/" + m.Name.ValueString())
	m.BOMDigest = types.StringValue(b.BOMDigest)
	m.Endpoint = types.StringValue(endpoint)
	m.RegistryImage = types.StringValue(sys.SeedImage(endpoint))
	m.PayloadDigest = types.StringValue(digest)
	var d diag.Diagnostics
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, fingerprints(b))
	return append(diags, d...)
}

// ModifyPlan shows, from the verified system bundle, the signers, the registry image and the
// payload digest; a payload that differs from the one in the cluster replaces the injection.
func (r *injectionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan injectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.SystemBundle.IsUnknown() || plan.Image.IsUnknown() || plan.NodePort.IsUnknown() ||
		plan.Namespace.IsUnknown() || plan.Name.IsUnknown() {
		return
	}
	b, sys, err := r.system(ctx, plan)
	if errors.Is(err, fs.ErrNotExist) {
		return // written later in this apply; Create verifies it
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("system_bundle"), "System bundle rejected", err.Error())
		return
	}
	defer b.Close()
	resp.Diagnostics.Append(describeInjection(ctx, &plan, b, sys)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state injectionModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.PayloadDigest.ValueString() != plan.PayloadDigest.ValueString() {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("payload_digest"))
		} else {
			plan.Chunks = state.Chunks
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *injectionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m injectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	b, sys, err := r.system(ctx, m)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("system_bundle"), "System bundle rejected", err.Error())
		return
	}
	defer b.Close()
	// Every byte before any is written to the cluster.
	if err := b.VerifyPayload(ctx); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("system_bundle"), "System bundle rejected", err.Error()+": nothing was created")
		return
	}
	planned := m.PayloadDigest.ValueString()
	if m.PayloadDigest.IsUnknown() {
		// The bundle was written later in this apply than the plan: describe it now. Otherwise
		// the plan did, and Inject checks the payload against the planned digest as it uploads.
		resp.Diagnostics.Append(describeInjection(ctx, &m, b, sys)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	cs := r.data.kube(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	payload := sys.Payload
	payload.Digest = planned
	tflog.Info(ctx, "injecting the registry image", map[string]any{"namespace": m.Namespace.ValueString(), "name": m.Name.ValueString(),
		"payload_digest": m.PayloadDigest.ValueString(), "endpoint": m.Endpoint.ValueString()})
	seed, err := inject.Inject(ctx, cs, inject.Request{
		Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), NodePort: int32(m.NodePort.ValueInt64()), Node: m.Node.ValueString(),
	}, payload)
	if err != nil {
		var ie *inject.InjectorError
		summary := "Injection failed"
		if errors.As(err, &ie) {
			summary = "The injector refused to serve"
		}
		resp.Diagnostics.AddError(summary, err.Error()+" (everything the injection created was removed)")
		return
	}
	for _, n := range seed.Notes {
		tflog.Info(ctx, "injection preflight: "+n)
	}
	tflog.Info(ctx, "injector serving", map[string]any{"endpoint": seed.Endpoint, "node": seed.Node, "chunks": seed.Chunks,
		"payload_bytes": seed.PayloadSize, "upload_seconds": seed.UploadTook.Seconds(), "ready_seconds": seed.ReadyTook.Seconds()})
	m.PayloadDigest = types.StringValue(seed.PayloadDigest)
	m.Chunks = types.Int64Value(int64(seed.Chunks))
	m.NodeName = types.StringValue(seed.Node)
	m.Architecture = types.StringValue(seed.Architecture)
	m.BorrowedImage = types.StringValue(seed.Image)
	m.Status = types.StringValue("serving")
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Read keeps a serving or retired injection; a broken one (an object missing, the pod not
// ready, another payload) gets an empty payload_digest, so that the plan replaces it; one
// gone without a registry's word is removed from state.
func (r *injectionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m injectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cs := r.data.kube(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := m.Namespace.ValueString(), m.Name.ValueString()
	st, err := inject.Status(ctx, cs, ns, name)
	if err != nil {
		resp.Diagnostics.AddError("Reading the injection failed", err.Error())
		return
	}
	switch {
	case st.Serving() && st.PayloadDigest == m.PayloadDigest.ValueString():
		m.Status = types.StringValue("serving")
	case st.Exists():
		tflog.Warn(ctx, "the injection is broken: the next apply replaces it", map[string]any{"missing": strings.Join(st.Missing, ", "),
			"ready": st.Ready, "payload_digest": st.PayloadDigest})
		m.PayloadDigest = types.StringValue("")
		m.Status = types.StringValue("broken")
	default:
		ret, err := deploy.RetiredBy(ctx, cs, ns, name)
		if err != nil {
			resp.Diagnostics.AddError("Reading the injection failed", err.Error())
			return
		}
		if ret == nil {
			tflog.Warn(ctx, "the injection is gone, and no registry says it retired it", map[string]any{"namespace": ns, "name": name})
			resp.State.RemoveResource(ctx)
			return
		}
		m.Status = types.StringValue("retired")
		if ret.PayloadDigest != m.PayloadDigest.ValueString() {
			m.PayloadDigest = types.StringValue("")
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *injectionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Every argument replaces; only computed values can change here.
	var m injectionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *injectionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m injectionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cs := r.data.kube(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := inject.Remove(ctx, cs, m.Namespace.ValueString(), m.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Removing the injection failed", err.Error())
	}
}
