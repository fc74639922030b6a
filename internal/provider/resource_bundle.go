package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

var (
	_ resource.Resource               = (*bundleResource)(nil)
	_ resource.ResourceWithConfigure  = (*bundleResource)(nil)
	_ resource.ResourceWithModifyPlan = (*bundleResource)(nil)
)

func newBundleResource() resource.Resource { return &bundleResource{} }

type bundleResource struct{ data *providerData }

func (r *bundleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bundle"
}

func (r *bundleResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = bundleResourceSchema()
}

func (r *bundleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d, ok := req.ProviderData.(*providerData); ok {
		r.data = d
	}
}

func (r *bundleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan bundleResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.build(ctx, &plan, resp.Private)...)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

// Update rebuilds: every input is part of the bundle's content.
func (r *bundleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state bundleResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.build(ctx, &plan, resp.Private)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.Output.ValueString() != plan.Output.ValueString() {
		removeFiles(ctx, state.Paths)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read notices a deleted or modified bundle and clears its sha256 in state, so the next plan
// shows the digest changing and rebuilds it with the same inputs and creation time. Files whose
// size and modification time are unchanged are not read again.
func (r *bundleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state bundleResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var paths []string
	resp.Diagnostics.Append(state.Paths.ElementsAs(ctx, &paths, false)...)
	raw, diags := req.Private.GetKey(ctx, privateFiles)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	var recorded []bundle.FileState
	_ = json.Unmarshal(raw, &recorded) // missing or unreadable: fall through to rehashing

	current, err := bundle.Stat(paths)
	if err != nil {
		tflog.Warn(ctx, "bundle file is gone; planning a rebuild", map[string]any{"error": err.Error()})
		state.SHA256 = types.StringValue("")
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	if sameFiles(recorded, current) {
		return
	}
	sum, err := bundle.Digest(state.Output.ValueString())
	if err != nil || sum != state.SHA256.ValueString() {
		tflog.Warn(ctx, "bundle was modified outside Terraform; planning a rebuild", map[string]any{"path": state.Output.ValueString()})
		state.SHA256 = types.StringValue("")
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	resp.Diagnostics.Append(setFileStates(ctx, resp.Private, current)...)
}

// ModifyPlan plans a rebuild of a bundle that Read found deleted or modified: its outputs become
// unknown, so the plan shows them changing.
func (r *bundleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	precheck(ctx, req, resp)
	if req.State.Raw.IsNull() || resp.Diagnostics.HasError() {
		return
	}
	var state bundleResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.SHA256.ValueString() != "" {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("sha256"), types.StringUnknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("bom_digest"), types.StringUnknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("size"), types.Int64Unknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("paths"), types.ListUnknown(types.StringType))...)
}

// precheck fails the plan when a manifest or chart uses an image the bundle will not carry,
// before any registry is contacted. Values still unknown at plan time are left to the build.
func precheck(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	var plan bundleResourceModel
	if diags := req.Plan.Get(ctx, &plan); diags.HasError() || !plan.referencesKnown() {
		return
	}
	spec, err := plan.inputs()
	if err != nil {
		return
	}
	if err := bundle.Precheck(spec); err != nil {
		resp.Diagnostics.AddError("The bundle would not carry an image it needs", err.Error())
	}
}

func (r *bundleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state bundleResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if !resp.Diagnostics.HasError() {
		removeFiles(ctx, state.Paths)
	}
}

const privateFiles = "files"

// privateSetter is the part of the framework's private state that build needs.
type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func (r *bundleResource) build(ctx context.Context, m *bundleResourceModel, private privateSetter) diag.Diagnostics {
	var diags diag.Diagnostics
	if m.Created.IsUnknown() || m.Created.IsNull() {
		m.Created = types.StringValue(time.Now().UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	spec, keys, err := m.spec()
	if err != nil {
		diags.AddError("Invalid bundle configuration", err.Error())
		return diags
	}
	for _, reg := range registries(spec) {
		tflog.Info(ctx, "bundle build contacts registry", map[string]any{"registry": reg})
	}
	res, err := bundle.Build(ctx, spec, bundle.BuildOptions{
		Keys:   keys,
		Remote: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("terraform-provider-airgap")},
	})
	if err != nil {
		diags.AddError("Building the bundle failed", err.Error())
		return diags
	}
	tflog.Info(ctx, "bundle built", map[string]any{"path": spec.Output, "bom_digest": res.BOMDigest, "size": res.Size, "signers": res.Signers})
	diags.Append(m.setResult(ctx, res)...)
	m.Uploaded, m.BOMURL, m.SBOMURL = types.ListValueMust(types.StringType, nil), types.StringValue(""), types.StringValue("")
	if m.UploadTo.ValueString() != "" {
		if err := r.upload(ctx, m, res); err != nil {
			diags.AddError("Uploading the bundle failed", err.Error())
			return diags
		}
	}
	states, err := bundle.Stat(res.Files)
	if err != nil {
		diags.AddError("Reading the written bundle", err.Error())
		return diags
	}
	diags.Append(setFileStates(ctx, private, states)...)
	return diags
}

func (m *bundleResourceModel) spec() (bundle.Spec, []bundle.SigningKey, error) {
	s, err := m.inputs()
	if err != nil {
		return s, nil, err
	}
	var keys []bundle.SigningKey
	for i, k := range m.SigningKeys {
		sk, err := k.load()
		if err != nil {
			return s, nil, fmt.Errorf("signing_keys[%d]: %w", i, err)
		}
		keys = append(keys, sk)
	}
	return s, keys, nil
}

// referencesKnown reports whether everything the precheck reads is known at plan time.
func (m *bundleResourceModel) referencesKnown() bool {
	for _, img := range m.Images {
		if img.Ref.IsUnknown() {
			return false
		}
	}
	for _, p := range m.Manifests {
		if p.IsUnknown() {
			return false
		}
	}
	for _, c := range m.Charts {
		if c.Path.IsUnknown() || c.Values.IsUnknown() || c.Namespace.IsUnknown() {
			return false
		}
	}
	return true
}

// inputs is the bundle's content as the engine takes it. An unset creation time (a first plan)
// is left zero.
func (m *bundleResourceModel) inputs() (bundle.Spec, error) {
	var created time.Time
	if v := m.Created.ValueString(); v != "" {
		var err error
		if created, err = time.Parse(time.RFC3339, v); err != nil {
			return bundle.Spec{}, fmt.Errorf("created: %w", err)
		}
	}
	s := bundle.Spec{
		Name: m.Name.ValueString(), Version: m.Version.ValueString(), Created: created,
		Output: m.Output.ValueString(), PartSize: m.PartSize.ValueInt64(),
	}
	for _, img := range m.Images {
		is := bundle.ImageSpec{Ref: img.Ref.ValueString(), Layout: img.Layout.ValueString()}
		for _, p := range img.Platforms {
			is.Platforms = append(is.Platforms, p.ValueString())
		}
		s.Images = append(s.Images, is)
	}
	for _, c := range m.Charts {
		s.Charts = append(s.Charts, bundle.ChartSpec{Path: c.Path.ValueString(), Values: c.Values.ValueString(), Namespace: c.Namespace.ValueString()})
	}
	for _, p := range m.Manifests {
		s.Manifests = append(s.Manifests, p.ValueString())
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.Files = append(s.Files, bundle.FileSpec{Name: n, Source: m.Files[n]})
	}
	return s, nil
}

func (m *bundleResourceModel) setResult(ctx context.Context, res *bundle.Result) diag.Diagnostics {
	var diags, d diag.Diagnostics
	m.ID = m.Output
	m.SHA256 = types.StringValue(res.SHA256)
	m.BOMDigest = types.StringValue(res.BOMDigest)
	m.Size = types.Int64Value(res.Size)
	m.Paths, d = types.ListValueFrom(ctx, types.StringType, res.Files)
	diags.Append(d...)
	signers := res.Signers
	if signers == nil {
		signers = []string{}
	}
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, signers)
	diags.Append(d...)
	m.BundledImages, d = imagesValue(ctx, res.BOM.Images)
	diags.Append(d...)
	return diags
}

type imageModel struct {
	Ref          string            `tfsdk:"ref"`
	Name         string            `tfsdk:"name"`
	Tag          string            `tfsdk:"tag"`
	Digest       string            `tfsdk:"digest"`
	SourceDigest string            `tfsdk:"source_digest"`
	Platforms    map[string]string `tfsdk:"platforms"`
}

func imagesValue(ctx context.Context, images []bundle.Image) (types.List, diag.Diagnostics) {
	out := make([]imageModel, 0, len(images))
	for _, img := range images {
		m := imageModel{Ref: img.Ref, Name: img.Name, Tag: img.Tag, Digest: img.Digest, SourceDigest: img.SourceDigest, Platforms: map[string]string{}}
		for _, p := range img.Platforms {
			m.Platforms[p.Platform] = p.Digest
		}
		out = append(out, m)
	}
	return types.ListValueFrom(ctx, imageObjectType, out)
}

// registries lists the registries a build will contact, for the log.
func registries(s bundle.Spec) []string {
	seen := map[string]bool{}
	var out []string
	for _, img := range s.Images {
		if img.Layout != "" {
			continue
		}
		if ref, err := bundle.ParseExplicitReference(img.Ref); err == nil && !seen[ref.Context().RegistryStr()] {
			seen[ref.Context().RegistryStr()] = true
			out = append(out, ref.Context().RegistryStr())
		}
	}
	return out
}

func sameFiles(a, b []bundle.FileState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Size != b[i].Size || !a[i].ModTime.Equal(b[i].ModTime) {
			return false
		}
	}
	return true
}

func setFileStates(ctx context.Context, private privateSetter, states []bundle.FileState) diag.Diagnostics {
	raw, err := json.Marshal(states)
	if err != nil {
		var d diag.Diagnostics
		d.AddError("Recording the bundle's files", err.Error())
		return d
	}
	return private.SetKey(ctx, privateFiles, raw)
}

func removeFiles(ctx context.Context, paths types.List) {
	var files []string
	paths.ElementsAs(ctx, &files, false)
	for _, f := range files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			tflog.Warn(ctx, "could not remove a bundle file", map[string]any{"path": f, "error": err.Error()})
		}
	}
}
