package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
)

var (
	_ resource.ResourceWithConfigure  = (*imageMirrorResource)(nil)
	_ resource.ResourceWithModifyPlan = (*imageMirrorResource)(nil)
)

func newImageMirrorResource() resource.Resource { return &imageMirrorResource{} }

// imageMirrorResource hydrates a registry from a verified bundle.
type imageMirrorResource struct{ data *providerData }

type imageMirrorModel struct {
	ID               types.String `tfsdk:"id"`
	Bundle           types.String `tfsdk:"bundle"`
	Registry         types.String `tfsdk:"registry"`
	RepositoryPrefix types.String `tfsdk:"repository_prefix"`
	Username         types.String `tfsdk:"username"`
	Password         types.String `tfsdk:"password"`
	CACertificate    types.String `tfsdk:"ca_certificate"`
	PlainHTTP        types.Bool   `tfsdk:"plain_http"`

	BOMDigest          types.String `tfsdk:"bom_digest"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	References         types.Map    `tfsdk:"references"`
	Drift              types.List   `tfsdk:"drift"`
}

func (r *imageMirrorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_image_mirror"
}

func (r *imageMirrorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d, ok := req.ProviderData.(*providerData); ok {
		r.data = d
	}
}

func (r *imageMirrorResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Pushes every image of a verified bundle, every platform, into a registry, straight from the bundle " +
			"file: the bundle's signatures are checked under the provider's trust and every payload byte is hashed before " +
			"anything is written, and each blob is checked again as it streams, so bytes changed on disk after the " +
			"verification are refused; blobs already present are skipped and the rest go up in parallel, each unique blob once " +
			"(then mounted across repositories); manifests and indexes go last, byte for byte, so digests are the BOM's. " +
			"`references` is known at plan time from the signed BOM. Read finds manifests deleted or tags moved in the " +
			"registry and the next plan shows them in `drift` and restores them. Destroy removes the tags and manifests " +
			"this bundle put there, never blobs.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`REGISTRY#BOM_DIGEST`."},
			"bundle": schema.StringAttribute{Required: true,
				MarkdownDescription: "The bundle: a local path (or a split bundle's base name) or `s3://bucket/key` in the provider's `object_store`."},
			"registry": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				MarkdownDescription: "The target registry's `host:port`, such as the in-cluster `127.0.0.1:31999`. Each image goes to its own repository: its path without the source registry's host (`docker.io/library/nginx` becomes `REGISTRY/library/nginx`)."},
			"repository_prefix": schema.StringAttribute{Optional: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				MarkdownDescription: "A repository path put in front of every image's path."},
			"username":       schema.StringAttribute{Optional: true, MarkdownDescription: "User name; the provider's `registry_auth` for this host when unset."},
			"password":       schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Password or token."},
			"ca_certificate": schema.StringAttribute{Optional: true, MarkdownDescription: "PEM CA bundle for the registry's TLS certificate."},
			"plain_http": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Talk plain HTTP. Refused unless the registry is on a loopback address or one of this node's addresses."},
			"bom_digest":          schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the bundle's signed BOM."},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Fingerprints of the accepted signers."},
			"references": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Each image's reference, as the bundle records it, to its mirrored reference pinned by digest (`REGISTRY/library/nginx@sha256:...`)."},
			"drift": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "What Read found missing or moved in the registry; empty when the registry holds the bundle as it was mirrored."},
		},
	}
}

func (r *imageMirrorResource) target(m imageMirrorModel) (registry.Target, error) {
	t := registry.Target{Host: m.Registry.ValueString(), Prefix: m.RepositoryPrefix.ValueString(), PlainHTTP: m.PlainHTTP.ValueBool()}
	user, pass := m.Username.ValueString(), m.Password.ValueString()
	if user == "" && r.data != nil {
		for _, a := range r.data.config.RegistryAuth {
			if a.Host.ValueString() == t.Host {
				user, pass = a.Username.ValueString(), a.Password.ValueString()
			}
		}
	}
	if user != "" {
		t.Auth = &authn.Basic{Username: user, Password: pass}
	}
	if ca := m.CACertificate.ValueString(); ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return t, errors.New("ca_certificate holds no PEM certificate")
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		t.Transport = tr
	}
	return t, nil
}

// open verifies the bundle's signatures under the provider's trust; no payload byte is read.
func (r *imageMirrorResource) open(ctx context.Context, m imageMirrorModel) (*bundle.Bundle, error) {
	return r.data.openBundle(ctx, m.Bundle.ValueString())
}

// describe fills what the signed BOM alone tells: digest, signers and references.
func (r *imageMirrorResource) describe(ctx context.Context, m *imageMirrorModel, b *bundle.Bundle, t registry.Target) diag.Diagnostics {
	var diags, d diag.Diagnostics
	refs, err := t.References(b.BOM)
	if err != nil {
		diags.AddAttributeError(path.Root("registry"), "Invalid registry", err.Error())
		return diags
	}
	m.BOMDigest = types.StringValue(b.BOMDigest)
	var fps []string
	for _, s := range b.Signers {
		fps = append(fps, s.Fingerprint)
	}
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, nonNil(fps))
	diags.Append(d...)
	m.References, d = types.MapValueFrom(ctx, types.StringType, refs)
	diags.Append(d...)
	m.ID = types.StringValue(t.Host + "#" + b.BOMDigest)
	return diags
}

// ModifyPlan shows, at plan time and from the signed BOM, the digest, the signers and where every
// image will be; and plans a restore when Read found drift.
func (r *imageMirrorResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan imageMirrorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Bundle.IsUnknown() || plan.Registry.IsUnknown() {
		return
	}
	t, err := r.target(plan)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("ca_certificate"), "Invalid CA certificate", err.Error())
		return
	}
	b, err := r.open(ctx, plan)
	if errors.Is(err, fs.ErrNotExist) {
		// Produced later in this apply (an upload, say): the apply verifies it before it pushes.
		return
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("bundle"), "Bundle rejected", err.Error())
		return
	}
	defer b.Close()
	resp.Diagnostics.Append(r.describe(ctx, &plan, b, t)...)
	plan.Drift = types.ListValueMust(types.StringType, nil)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *imageMirrorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State)...)
}

// Update mirrors again: a new bundle, or drift to restore; the work already done is skipped.
func (r *imageMirrorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State)...)
}

func (r *imageMirrorResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State) diag.Diagnostics {
	var m imageMirrorModel
	diags := plan.Get(ctx, &m)
	if !diags.HasError() {
		diags.Append(r.mirror(ctx, &m)...)
	}
	if !diags.HasError() {
		diags.Append(state.Set(ctx, &m)...)
	}
	return diags
}

// mirror verifies every payload byte, then pushes: a tampered bundle writes nothing anywhere.
func (r *imageMirrorResource) mirror(ctx context.Context, m *imageMirrorModel) diag.Diagnostics {
	var diags diag.Diagnostics
	t, err := r.target(*m)
	if err != nil {
		diags.AddAttributeError(path.Root("ca_certificate"), "Invalid CA certificate", err.Error())
		return diags
	}
	b, err := r.open(ctx, *m)
	if err != nil {
		diags.AddAttributeError(path.Root("bundle"), "Bundle rejected", err.Error())
		return diags
	}
	defer b.Close()
	if err := b.VerifyPayload(ctx); err != nil {
		diags.AddAttributeError(path.Root("bundle"), "Bundle rejected", err.Error()+": nothing was pushed")
		return diags
	}
	tflog.Info(ctx, "mirroring bundle", map[string]any{"registry": t.Host, "bom_digest": b.BOMDigest})
	res, err := registry.Mirror(ctx, b, t, registry.WithLogger(tfLogger(ctx)))
	if err != nil {
		diags.Append(registryError(err, "Mirroring the bundle failed")...)
		return diags
	}
	tflog.Info(ctx, "bundle mirrored", map[string]any{"blobs_uploaded": res.BlobsUploaded, "blobs_mounted": res.BlobsMounted,
		"blobs_skipped": res.BlobsSkipped, "bytes_sent": res.BytesSent, "manifests_pushed": res.ManifestsPushed, "seconds": res.Duration.Seconds()})
	diags.Append(r.describe(ctx, m, b, t)...)
	m.Drift = types.ListValueMust(types.StringType, nil)
	return diags
}

// Read records drift: a manifest deleted, a tag removed or moved. Only HEAD requests.
func (r *imageMirrorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m imageMirrorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, err := r.target(m)
	if err != nil {
		return
	}
	b, err := r.open(ctx, m)
	if err != nil {
		tflog.Warn(ctx, "cannot read the bundle to check the registry; keeping the recorded state", map[string]any{"error": err.Error()})
		return
	}
	defer b.Close()
	drift, err := registry.Check(ctx, b, t, registry.WithLogger(tfLogger(ctx)))
	if err != nil {
		resp.Diagnostics.Append(registryError(err, "Checking the registry failed")...)
		return
	}
	var lines []string
	for _, d := range drift {
		lines = append(lines, d.String())
	}
	m.Drift = types.ListValueMust(types.StringType, stringValues(lines))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Delete removes the tags and manifests this bundle put in the registry; blobs stay for the
// registry's garbage collector, which knows what else uses them.
func (r *imageMirrorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m imageMirrorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t, err := r.target(m)
	if err != nil {
		resp.Diagnostics.AddError("Invalid registry settings", err.Error())
		return
	}
	b, err := r.open(ctx, m)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("bundle"), "Cannot read the bundle to know what to remove", err.Error())
		return
	}
	defer b.Close()
	removed, err := registry.Remove(ctx, b, t, nil, registry.WithLogger(tfLogger(ctx)))
	if err != nil {
		resp.Diagnostics.Append(registryError(err, "Removing the mirrored images failed")...)
		return
	}
	tflog.Info(ctx, "mirrored images removed", map[string]any{"tags": removed.TagsDeleted, "manifests": removed.ManifestsDeleted})
}

// registryError puts a fault in the target's settings on the attribute that holds it.
func registryError(err error, summary string) diag.Diagnostics {
	var diags diag.Diagnostics
	var fe *registry.FieldError
	if errors.As(err, &fe) {
		attr := map[string]string{"Host": "registry", "Prefix": "repository_prefix", "PlainHTTP": "plain_http"}[fe.Field]
		if attr != "" {
			diags.AddAttributeError(path.Root(attr), summary, err.Error())
			return diags
		}
	}
	diags.AddError(summary, err.Error())
	return diags
}

// tfLogger sends the engine's audit lines to Terraform's log.
func tfLogger(ctx context.Context) registry.Logger {
	return func(msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) }
}

func stringValues(s []string) []attr.Value {
	out := make([]attr.Value, 0, len(s))
	for _, v := range s {
		out = append(out, types.StringValue(v))
	}
	return out
}
