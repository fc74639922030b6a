// Package provider is the Terraform glue: schemas, models, and CRUD that reads the plan, calls the
// engine packages, converts their results and sets state. The work itself lives elsewhere.
package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// New returns the provider factory for the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &airgapProvider{version: version, now: time.Now} }
}

type airgapProvider struct {
	version string
	now     func() time.Time // the verification clock; tests replace it
}

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	// trust is the verification policy; its error (no key configured, a key that does not
	// parse) is kept and reported by whatever needs to verify, so the connected side, which only
	// builds and signs, works without trust configuration.
	trust    signing.Policy
	trustErr error
	now      func() time.Time
	config   providerModel // connections; clients are built from it when first needed
	clients  clients
	receipts receiptSettings // where recordDeployment keeps receipts, and the key that signs them
}

type providerModel struct {
	TrustedKeys        []trustedKeyModel       `tfsdk:"trusted_keys"`
	TrustedRoots       []trustedRootModel      `tfsdk:"trusted_roots"`
	RequiredSigners    []types.String          `tfsdk:"required_signers"`
	Kubernetes         *kubernetesModel        `tfsdk:"kubernetes"`
	RegistryAuth       []registryAuthModel     `tfsdk:"registry_auth"`
	FallbackRegistries []fallbackRegistryModel `tfsdk:"fallback_registries"`
	ObjectStore        *objectStoreModel       `tfsdk:"object_store"`
	Receipts           *receiptsModel          `tfsdk:"receipts"`
}

type trustedKeyModel struct {
	Name      types.String `tfsdk:"name"`
	PublicKey types.String `tfsdk:"public_key"`
	NotBefore types.String `tfsdk:"not_before"`
	NotAfter  types.String `tfsdk:"not_after"`
}

type trustedRootModel struct {
	Name        types.String `tfsdk:"name"`
	Certificate types.String `tfsdk:"certificate"`
}

func (p *airgapProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "airgap"
	resp.Version = p.version
}

func (p *airgapProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	attrs := connectionAttributes()
	resp.Schema = schema.Schema{
		MarkdownDescription: "Delivers software into air-gapped Kubernetes clusters from signed bundles. " +
			"The enclave side verifies every bundle against the trusted keys and roots configured here " +
			"before it reads any payload; with none configured, it refuses every bundle.",
		Attributes: map[string]schema.Attribute{
			"kubernetes": attrs["kubernetes"], "registry_auth": attrs["registry_auth"],
			"fallback_registries": attrs["fallback_registries"], "object_store": attrs["object_store"],
			"receipts": receiptsAttribute(),
			"trusted_keys": schema.ListNestedAttribute{
				MarkdownDescription: "Public keys trusted to sign bundles, each with an optional validity window. " +
					"A bundle signed by a key outside its window is rejected: re-sign stockpiled bundles before delivery.",
				Optional: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":       schema.StringAttribute{Required: true, MarkdownDescription: "A name for the key, used by `required_signers` and shown as the signer."},
					"public_key": schema.StringAttribute{Required: true, MarkdownDescription: "The PEM public key, as `cosign generate-key-pair` writes `cosign.pub`."},
					"not_before": schema.StringAttribute{Optional: true, MarkdownDescription: "RFC 3339 time before which the key is not trusted."},
					"not_after":  schema.StringAttribute{Optional: true, MarkdownDescription: "RFC 3339 time after which the key is expired and its signatures are rejected."},
				}},
			},
			"trusted_roots": schema.ListNestedAttribute{
				MarkdownDescription: "Certificate authorities whose x509 signing certificates are trusted. The signing certificate's own `NotAfter` bounds its signatures.",
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":        schema.StringAttribute{Required: true, MarkdownDescription: "A name for the root, used by `required_signers` and shown as the signer."},
					"certificate": schema.StringAttribute{Required: true, MarkdownDescription: "The root certificate, PEM."},
				}},
			},
			"required_signers": schema.ListAttribute{
				MarkdownDescription: "Names of trusted keys or roots that must all have signed a bundle (a vendor and a customer co-sign, for instance). Empty means one signature by any trusted key or root is enough.",
				Optional:            true,
				ElementType:         types.StringType,
			},
		},
	}
}

func (p *airgapProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{now: p.now}
	data.trust, data.trustErr = trustPolicy(cfg, p.now)
	if data.trustErr != nil && (len(cfg.TrustedKeys) > 0 || len(cfg.TrustedRoots) > 0) {
		// A trust configuration that is present but wrong is always an error: never fall back.
		resp.Diagnostics.AddAttributeError(path.Root("trusted_keys"), "Invalid trust configuration", data.trustErr.Error())
		return
	}
	var diags diag.Diagnostics
	data.receipts, diags = receiptSettingsFrom(cfg.Receipts)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	tflog.Info(ctx, "airgap provider configured", map[string]any{"trusted_keys": len(cfg.TrustedKeys), "trusted_roots": len(cfg.TrustedRoots)})
	endpointLog(ctx, cfg)
	data.receipts.log(ctx)
	data.config = cfg
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *airgapProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newBundleResource, newBundleSignatureResource, newImageMirrorResource, newInjectionResource, newRegistryResource, newManifestResource, newChartResource}
}

func (p *airgapProvider) Functions(context.Context) []func() function.Function {
	return []func() function.Function{newImageRefFunction}
}

func (p *airgapProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newBundleDataSource, newReceiptsDataSource}
}
