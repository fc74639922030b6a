package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

var _ resource.ResourceWithConfigValidators = (*bundleSignatureResource)(nil)

func newBundleSignatureResource() resource.Resource { return &bundleSignatureResource{} }

// bundleSignatureResource adds one signature to an existing bundle without rebuilding it: a
// customer co-sign, a re-sign of a stockpiled bundle with a current key, or a signature made
// elsewhere with `cosign sign-blob`.
type bundleSignatureResource struct{}

type bundleSignatureModel struct {
	ID                 types.String     `tfsdk:"id"`
	Bundle             types.String     `tfsdk:"bundle"`
	ExpectedBOMDigest  types.String     `tfsdk:"expected_bom_digest"`
	SigningKey         *signingKeyModel `tfsdk:"signing_key"`
	Signature          *externalSig     `tfsdk:"signature"`
	RemoveFingerprints []types.String   `tfsdk:"remove_fingerprints"`
	Fingerprint        types.String     `tfsdk:"fingerprint"`
	BOMDigest          types.String     `tfsdk:"bom_digest"`
	SignerFingerprints types.List       `tfsdk:"signer_fingerprints"`
}

type externalSig struct {
	Value     types.String `tfsdk:"value"`
	PublicKey types.String `tfsdk:"public_key"`
}

func (r *bundleSignatureResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bundle_signature"
}

func (r *bundleSignatureResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Adds a signature to an existing bundle without rebuilding it: only the bundle's 64 KiB signature slot is " +
			"rewritten. Use it for a customer co-sign, to re-sign a stockpiled bundle with a current key before delivery, or to " +
			"attach a signature made elsewhere with `cosign sign-blob`. The whole payload is hashed against the BOM first, so " +
			"nobody signs bytes the BOM does not describe. A new signature by a key that already signed replaces the old one; " +
			"destroy removes the signature.",
		Attributes: map[string]schema.Attribute{
			"id":     schema.StringAttribute{Computed: true, MarkdownDescription: "`BUNDLE#FINGERPRINT`.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"bundle": schema.StringAttribute{Required: true, PlanModifiers: replace, MarkdownDescription: "The bundle file, or the base name of a split bundle."},
			"expected_bom_digest": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				MarkdownDescription: "Refuse to sign unless the bundle's BOM has this digest: what the signer reviewed is what gets signed."},
			"signing_key": schema.SingleNestedAttribute{Optional: true, Sensitive: true, PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				MarkdownDescription: "Sign with this cosign key.",
				Attributes: map[string]schema.Attribute{
					"private_key": schema.StringAttribute{Required: true, Sensitive: true, MarkdownDescription: "The encrypted private key PEM written by `cosign generate-key-pair`."},
					"password":    schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "The key's password; `COSIGN_PASSWORD` when unset."},
					"certificate": schema.StringAttribute{Optional: true, MarkdownDescription: "An x509 signing certificate (PEM) for the key."},
					"chain":       schema.StringAttribute{Optional: true, MarkdownDescription: "Intermediate certificates (PEM)."},
				}},
			"signature": schema.SingleNestedAttribute{Optional: true, PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				MarkdownDescription: "Attach a signature made elsewhere, such as `cosign sign-blob --key cosign.key bom.json` with the key in an HSM. It must verify under `public_key` before it is stored.",
				Attributes: map[string]schema.Attribute{
					"value":      schema.StringAttribute{Required: true, MarkdownDescription: "The base64 signature, as `cosign sign-blob` prints it."},
					"public_key": schema.StringAttribute{Required: true, MarkdownDescription: "The PEM public key it verifies under."},
				}},
			"remove_fingerprints": schema.ListAttribute{Optional: true, ElementType: types.StringType, PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()},
				MarkdownDescription: "Remove the signatures of these key fingerprints (an expired key, say) while signing."},
			"fingerprint":         schema.StringAttribute{Computed: true, MarkdownDescription: "Fingerprint of the key that made this signature.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"bom_digest":          schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the BOM that was signed.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Fingerprints of every signature on the bundle afterwards."},
		},
	}
}

func (r *bundleSignatureResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("signing_key"), path.MatchRoot("signature"))}
}

func (r *bundleSignatureResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m bundleSignatureModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	file := m.Bundle.ValueString()
	head, _, err := bundle.ReadHead(file)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("bundle"), "Cannot read the bundle", err.Error())
		return
	}
	if want := m.ExpectedBOMDigest.ValueString(); want != "" && want != head.BOMDigest {
		resp.Diagnostics.AddAttributeError(path.Root("expected_bom_digest"), "BOM differs from the one reviewed",
			fmt.Sprintf("The bundle's BOM digest is %s, not %s: refusing to sign it.", head.BOMDigest, want))
		return
	}
	op := bundle.Resign{}
	for _, f := range m.RemoveFingerprints {
		op.Remove = append(op.Remove, f.ValueString())
	}
	var fingerprint string
	if m.SigningKey != nil {
		k, err := m.SigningKey.load()
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("signing_key"), "Invalid signing key", err.Error())
			return
		}
		op.Keys = []bundle.SigningKey{k}
		fingerprint, err = signing.Fingerprint(k.Signer.Public())
		if err != nil {
			resp.Diagnostics.AddError("Invalid signing key", err.Error())
			return
		}
	} else {
		pub, err := signing.ParsePublicKey([]byte(m.Signature.PublicKey.ValueString()))
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("signature").AtName("public_key"), "Invalid public key", err.Error())
			return
		}
		op.External = []bundle.ExternalSignature{{Sig: m.Signature.Value.ValueString(), PublicKey: pub}}
		fingerprint, _ = signing.Fingerprint(pub)
	}
	head, err = bundle.AddSignatures(ctx, file, op)
	if err != nil {
		resp.Diagnostics.AddError("Signing the bundle failed", err.Error())
		return
	}
	tflog.Info(ctx, "bundle signed", map[string]any{"bundle": file, "fingerprint": fingerprint, "bom_digest": head.BOMDigest})
	m.ID = types.StringValue(file + "#" + fingerprint)
	m.Fingerprint = types.StringValue(fingerprint)
	m.BOMDigest = types.StringValue(head.BOMDigest)
	m.SignerFingerprints = fingerprintsOf(ctx, head.Signatures, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Read drops the signature from state when the bundle, its BOM or the signature is gone, so the
// next plan signs again.
func (r *bundleSignatureResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m bundleSignatureModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	head, _, err := bundle.ReadHead(m.Bundle.ValueString())
	if err != nil || head.BOMDigest != m.BOMDigest.ValueString() || !hasSignature(head, m.Fingerprint.ValueString()) {
		tflog.Warn(ctx, "bundle signature is gone; planning to sign again", map[string]any{"bundle": m.Bundle.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	m.SignerFingerprints = fingerprintsOf(ctx, head.Signatures, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *bundleSignatureResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Every input requires replacement; nothing is updated in place.
	var m bundleSignatureModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *bundleSignatureResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m bundleSignatureModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	head, _, err := bundle.ReadHead(m.Bundle.ValueString())
	if err != nil || !hasSignature(head, m.Fingerprint.ValueString()) {
		return // nothing left to remove
	}
	if _, err := bundle.AddSignatures(ctx, m.Bundle.ValueString(), bundle.Resign{Remove: []string{m.Fingerprint.ValueString()}}); err != nil {
		resp.Diagnostics.AddError("Removing the signature failed", err.Error())
	}
}

func hasSignature(head *bundle.Head, fingerprint string) bool {
	for _, s := range head.Signatures {
		if s.KeyID == fingerprint {
			return true
		}
	}
	return false
}

func fingerprintsOf(ctx context.Context, sigs []signing.Signature, diags *diag.Diagnostics) types.List {
	ids := []string{}
	for _, s := range sigs {
		ids = append(ids, s.KeyID)
	}
	v, d := types.ListValueFrom(ctx, types.StringType, ids)
	diags.Append(d...)
	return v
}
