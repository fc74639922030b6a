package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

var _ datasource.DataSourceWithConfigure = (*bundleDataSource)(nil)

func newBundleDataSource() datasource.DataSource { return &bundleDataSource{} }

type bundleDataSource struct{ data *providerData }

type bundleDataModel struct {
	Path          types.String `tfsdk:"path"`
	VerifyPayload types.Bool   `tfsdk:"verify_payload"`

	Name               types.String `tfsdk:"name"`
	Version            types.String `tfsdk:"version"`
	Created            types.String `tfsdk:"created"`
	BOMDigest          types.String `tfsdk:"bom_digest"`
	SBOMDigest         types.String `tfsdk:"sbom_digest"`
	Size               types.Int64  `tfsdk:"size"`
	Parts              types.Int64  `tfsdk:"parts"`
	Signers            types.List   `tfsdk:"signers"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	Images             types.List   `tfsdk:"images"`
	Charts             types.List   `tfsdk:"charts"`
	Manifests          types.List   `tfsdk:"manifests"`
	Files              types.List   `tfsdk:"files"`
}

var (
	signerObjectType   = types.ObjectType{AttrTypes: map[string]attr.Type{"name": types.StringType, "fingerprint": types.StringType, "subject": types.StringType}}
	chartObjectType    = types.ObjectType{AttrTypes: map[string]attr.Type{"name": types.StringType, "version": types.StringType, "app_version": types.StringType, "path": types.StringType, "sha256": types.StringType, "images": types.ListType{ElemType: types.StringType}}}
	manifestObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{"path": types.StringType, "source": types.StringType, "sha256": types.StringType, "images": types.ListType{ElemType: types.StringType}}}
	fileObjectType     = types.ObjectType{AttrTypes: map[string]attr.Type{"name": types.StringType, "path": types.StringType, "sha256": types.StringType, "size": types.Int64Type}}
)

func (d *bundleDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bundle"
}

func (d *bundleDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if pd, ok := req.ProviderData.(*providerData); ok {
		d.data = pd
	}
}

func (d *bundleDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computedString := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Verifies a bundle on the enclave side against the provider's trust configuration and exposes " +
			"what an approver reads in the plan: who signed it (key fingerprints), its BOM digest, and every image, chart, " +
			"manifest and file with its digest. The signatures over the BOM are checked before any payload byte is read; " +
			"an unsigned, wrongly signed, expired or structurally altered bundle fails the plan. Payload bytes are hashed " +
			"by every resource that consumes them before it writes anything, or here when `verify_payload` is set.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{Required: true, MarkdownDescription: "The bundle file, or the base name (or part 0) of a split bundle; or `s3://bucket/key` in the provider's `object_store`, read by ranged requests and never staged locally."},
			"verify_payload": schema.BoolAttribute{Optional: true, MarkdownDescription: "Also hash every payload byte against the BOM while planning. " +
				"Off by default so a plan reads the signed BOM, not gigabytes; consumers always verify before they write."},
			"name":        computedString("Bundle name from the signed BOM."),
			"version":     computedString("Bundle version from the signed BOM."),
			"created":     computedString("Creation time from the signed BOM (RFC 3339)."),
			"bom_digest":  computedString("Digest of the signed BOM."),
			"sbom_digest": computedString("SHA-256 of the CycloneDX SBOM carried in the bundle."),
			"size":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Total bytes, all parts together."},
			"parts":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Number of payload parts; 0 for a single-file bundle."},
			"signers": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Accepted signers: the trusted key or root name, the signing key's fingerprint, and the certificate subject when a certificate was used.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": computedString("Trusted key or root name."), "fingerprint": computedString("SHA-256 fingerprint of the signing key."), "subject": computedString("Signing certificate subject, if any."),
				}}},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Fingerprints of the accepted signing keys."},
			"images": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Carried images with their digests per platform.",
				NestedObject: schema.NestedAttributeObject{Attributes: dataImageAttributes()}},
			"charts": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Carried Helm charts.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": computedString("Chart name."), "version": computedString("Chart version."), "app_version": computedString("Chart appVersion."),
					"path": computedString("Entry in the bundle."), "sha256": computedString("SHA-256 of the packaged chart."),
					"images": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Images its rendered manifests use."},
				}}},
			"manifests": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Carried manifest files.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"path": computedString("Entry in the bundle."), "source": computedString("Source path at build time."), "sha256": computedString("SHA-256 of the file."),
					"images": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Images it uses."},
				}}},
			"files": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Carried files.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": computedString("File name."), "path": computedString("Entry in the bundle."), "sha256": computedString("SHA-256 of the file."),
					"size": schema.Int64Attribute{Computed: true, MarkdownDescription: "Size in bytes."},
				}}},
		},
	}
}

func dataImageAttributes() map[string]schema.Attribute {
	out := map[string]schema.Attribute{}
	for k := range imageObjectType.AttrTypes {
		if k == "platforms" {
			out[k] = schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Each platform (`linux/amd64`) to its manifest digest."}
			continue
		}
		out[k] = schema.StringAttribute{Computed: true, MarkdownDescription: imageFieldDescriptions[k]}
	}
	return out
}

var imageFieldDescriptions = map[string]string{
	"ref": "The reference as configured at build time.", "name": "Normalised repository with registry host.",
	"tag": "Tag, empty for a reference by digest.", "digest": "Digest of the carried manifest or index.",
	"source_digest": "Digest at the source; differs from `digest` when only some platforms were taken.",
}

func (d *bundleDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m bundleDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil || d.data.trustErr != nil {
		msg := "The provider has no trust configuration: set trusted_keys or trusted_roots. Bundles are never accepted unverified."
		if d.data != nil {
			msg = d.data.trustErr.Error()
		}
		resp.Diagnostics.AddError("No trusted key", msg)
		return
	}
	store, name, err := d.data.bundleStore(ctx, m.Path.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("path"), "Cannot reach the bundle", err.Error())
		return
	}
	b, err := bundle.OpenFrom(store, name, d.data.trust)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("path"), "Bundle rejected", err.Error())
		return
	}
	defer b.Close()
	for _, s := range b.Signers {
		tflog.Info(ctx, "bundle signature accepted", map[string]any{"bundle": m.Path.ValueString(), "signer": s.Name, "fingerprint": s.Fingerprint, "subject": s.Subject})
	}
	if m.VerifyPayload.ValueBool() {
		if err := b.VerifyPayload(ctx); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("path"), "Bundle rejected", err.Error())
			return
		}
	}
	resp.Diagnostics.Append(m.fill(ctx, b)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (m *bundleDataModel) fill(ctx context.Context, b *bundle.Bundle) diag.Diagnostics {
	var diags, d diag.Diagnostics
	bom := b.BOM
	sha := func(p string) string { e, _ := bom.EntryByPath(p); return e.SHA256 }
	m.Name, m.Version = types.StringValue(bom.Name), types.StringValue(bom.Version)
	m.Created = types.StringValue(bom.Created.Format("2006-01-02T15:04:05Z07:00"))
	m.BOMDigest, m.SBOMDigest = types.StringValue(b.BOMDigest), types.StringValue(sha(bom.SBOM))
	m.Size, m.Parts = types.Int64Value(b.TotalSize()), types.Int64Value(int64(len(bom.Parts)))

	type signer struct {
		Name        string `tfsdk:"name"`
		Fingerprint string `tfsdk:"fingerprint"`
		Subject     string `tfsdk:"subject"`
	}
	signers, fps := []signer{}, []string{}
	for _, s := range b.Signers {
		signers = append(signers, signer{s.Name, s.Fingerprint, s.Subject})
		fps = append(fps, s.Fingerprint)
	}
	m.Signers, d = types.ListValueFrom(ctx, signerObjectType, signers)
	diags.Append(d...)
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, fps)
	diags.Append(d...)
	m.Images, d = imagesValue(ctx, bom.Images)
	diags.Append(d...)

	type chart struct {
		Name       string   `tfsdk:"name"`
		Version    string   `tfsdk:"version"`
		AppVersion string   `tfsdk:"app_version"`
		Path       string   `tfsdk:"path"`
		SHA256     string   `tfsdk:"sha256"`
		Images     []string `tfsdk:"images"`
	}
	charts := []chart{}
	for _, c := range bom.Charts {
		charts = append(charts, chart{c.Name, c.Version, c.AppVersion, c.Path, sha(c.Path), nonNil(c.Images)})
	}
	m.Charts, d = types.ListValueFrom(ctx, chartObjectType, charts)
	diags.Append(d...)

	type manifest struct {
		Path   string   `tfsdk:"path"`
		Source string   `tfsdk:"source"`
		SHA256 string   `tfsdk:"sha256"`
		Images []string `tfsdk:"images"`
	}
	manifests := []manifest{}
	for _, x := range bom.Manifests {
		manifests = append(manifests, manifest{x.Path, x.Source, sha(x.Path), nonNil(x.Images)})
	}
	m.Manifests, d = types.ListValueFrom(ctx, manifestObjectType, manifests)
	diags.Append(d...)

	type file struct {
		Name   string `tfsdk:"name"`
		Path   string `tfsdk:"path"`
		SHA256 string `tfsdk:"sha256"`
		Size   int64  `tfsdk:"size"`
	}
	files := []file{}
	for _, f := range bom.Files {
		e, _ := bom.EntryByPath(f.Path)
		files = append(files, file{f.Name, f.Path, e.SHA256, e.Size})
	}
	m.Files, d = types.ListValueFrom(ctx, fileObjectType, files)
	diags.Append(d...)
	return diags
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
