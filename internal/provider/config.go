package provider

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// The provider's connections: where the enclave's Kubernetes API, registries and object store
// are. Nothing here is contacted in Configure; clients are built when a resource first needs
// them, so a cluster created in the same apply works. Seed 002 asks for one log line naming every
// endpoint the provider will contact, before it contacts any: endpointLog writes it.

type kubernetesModel struct {
	Kubeconfig types.String `tfsdk:"kubeconfig"`
	Context    types.String `tfsdk:"context"`
}

type registryAuthModel struct {
	Host     types.String `tfsdk:"host"`
	Username types.String `tfsdk:"username"`
	Password types.String `tfsdk:"password"`
}

type fallbackRegistryModel struct {
	Host          types.String `tfsdk:"host"`
	Username      types.String `tfsdk:"username"`
	Password      types.String `tfsdk:"password"`
	CACertificate types.String `tfsdk:"ca_certificate"`
}

type objectStoreModel struct {
	Endpoint        types.String `tfsdk:"endpoint"`
	PresignEndpoint types.String `tfsdk:"presign_endpoint"`
	AccessKey       types.String `tfsdk:"access_key"`
	SecretKey       types.String `tfsdk:"secret_key"`
	Region          types.String `tfsdk:"region"`
	InsecureHTTP    types.Bool   `tfsdk:"insecure_http"`
	CACertificate   types.String `tfsdk:"ca_certificate"`
	Service         *serviceRef  `tfsdk:"service"`
}

// receiptsModel is where deployment receipts are kept and how they are signed; see receipts.go.
type receiptsModel struct {
	Namespace  types.String            `tfsdk:"namespace"`
	Stream     types.String            `tfsdk:"stream"`
	Operator   types.String            `tfsdk:"operator"`
	SigningKey *receiptSigningKeyModel `tfsdk:"signing_key"`
	Directory  types.String            `tfsdk:"directory"`
}

type receiptSigningKeyModel struct {
	PrivateKey types.String `tfsdk:"private_key"`
	Password   types.String `tfsdk:"password"`
}

type serviceRef struct {
	Namespace types.String `tfsdk:"namespace"`
	Name      types.String `tfsdk:"name"`
	PortName  types.String `tfsdk:"port_name"`
}

func connectionAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"kubernetes": schema.SingleNestedAttribute{Optional: true,
			MarkdownDescription: "How to reach the enclave's Kubernetes API. By default the in-cluster service account; a kubeconfig only when set here (seed 002).",
			Attributes: map[string]schema.Attribute{
				"kubeconfig": schema.StringAttribute{Optional: true, MarkdownDescription: "Path of a kubeconfig file."},
				"context":    schema.StringAttribute{Optional: true, MarkdownDescription: "Context in the kubeconfig; its current context when unset."},
			}},
		"registry_auth": schema.ListNestedAttribute{Optional: true, Sensitive: true,
			MarkdownDescription: "Credentials for registries the provider pushes to or pulls from, by host (`127.0.0.1:31999`).",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"host":     schema.StringAttribute{Required: true, MarkdownDescription: "Registry host and port."},
				"username": schema.StringAttribute{Required: true, MarkdownDescription: "User name."},
				"password": schema.StringAttribute{Required: true, Sensitive: true, MarkdownDescription: "Password or token."},
			}}},
		"fallback_registries": schema.ListNestedAttribute{Optional: true,
			MarkdownDescription: "Registries consulted, in order, when the cluster-local registry lacks an image. Opt-in: with none, a miss fails closed. " +
				"An image from a fallback is accepted only when its digest is in a verified BOM; there is never a public default.",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"host":           schema.StringAttribute{Required: true, MarkdownDescription: "Registry host and port."},
				"username":       schema.StringAttribute{Optional: true, MarkdownDescription: "User name."},
				"password":       schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Password or token."},
				"ca_certificate": schema.StringAttribute{Optional: true, MarkdownDescription: "PEM CA bundle for its TLS certificate."},
			}}},
		"object_store": schema.SingleNestedAttribute{Optional: true,
			MarkdownDescription: "S3-compatible object storage (MinIO, RustFS, SeaweedFS) for `s3://` bundle paths, uploads and presigned links.",
			Attributes: map[string]schema.Attribute{
				"endpoint":         schema.StringAttribute{Optional: true, MarkdownDescription: "`host:port` for data. Unset: discovered through the Kubernetes API from `service`. The environment variable `AIRGAP_S3_ENDPOINT` overrides both."},
				"presign_endpoint": schema.StringAttribute{Optional: true, MarkdownDescription: "The externally reachable `host:port` presigned links are minted for; `endpoint` when unset."},
				"access_key":       schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Access key."},
				"secret_key":       schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Secret key."},
				"region":           schema.StringAttribute{Optional: true, MarkdownDescription: "Region; most local stores ignore it."},
				"insecure_http":    schema.BoolAttribute{Optional: true, MarkdownDescription: "Use plain HTTP to the endpoint."},
				"ca_certificate":   schema.StringAttribute{Optional: true, MarkdownDescription: "PEM CA bundle for the endpoint's TLS certificate."},
				"service": schema.SingleNestedAttribute{Optional: true, MarkdownDescription: "Discover the endpoint from this Service: its ClusterIP and the port with this name in its spec.",
					Attributes: map[string]schema.Attribute{
						"namespace": schema.StringAttribute{Required: true, MarkdownDescription: "Namespace of the Service."},
						"name":      schema.StringAttribute{Required: true, MarkdownDescription: "Name of the Service."},
						"port_name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the port in the Service's spec; never a hardcoded number."},
					}},
			}},
	}
}

// receiptsAttribute configures the deployment receipts. The block is optional but receipts are
// not: without it they are kept unsigned under the defaults, because an audit trail that has to be
// switched on is missing exactly when someone needs it.
func receiptsAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{Optional: true,
		MarkdownDescription: "Deployment receipts: after every apply that changes workloads, a record of what was applied " +
			"(bundle BOM digests and accepted signer fingerprints, images, releases, time, operator) is kept in the cluster " +
			"as an immutable ConfigMap, hash-chained to the one before it, and read back with the `airgap_receipts` data source. " +
			"Receipts are always recorded: without this block, unsigned, in stream `" + defaultReceiptStream + "` of namespace `" +
			defaultReceiptNamespace + "`. The block names the operator and the key that signs each receipt.",
		Attributes: map[string]schema.Attribute{
			"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Namespace that keeps the receipts; created when missing, never deleted. Default `" + defaultReceiptNamespace + "`."},
			"stream":    schema.StringAttribute{Optional: true, MarkdownDescription: "Name of the history (a DNS label): several streams may share a namespace, one per environment say. Default `" + defaultReceiptStream + "`."},
			"operator":  schema.StringAttribute{Optional: true, MarkdownDescription: "Who applies (a name, an e-mail address): recorded in every receipt, inside the signed bytes."},
			"signing_key": schema.SingleNestedAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "The operator's key, which signs every receipt exactly as `cosign sign-blob --key` would. Without it receipts are unsigned.",
				Attributes: map[string]schema.Attribute{
					"private_key": schema.StringAttribute{Required: true, Sensitive: true, MarkdownDescription: "The private key PEM, encrypted, as `cosign generate-key-pair` writes `cosign.key`."},
					"password": schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "The key's password. When unset, read from `" + passwordEnv + "`, " +
						"which keeps it out of the configuration."},
				}},
			"directory": schema.StringAttribute{Optional: true, MarkdownDescription: "Also write each receipt to this directory (created when missing): " +
				"`receipt-STREAM-SEQUENCE.json` with its signature beside it as `.json.sig`, ready for `cosign verify-blob`. The cluster's copy stays the record."},
		}}
}

// endpointLog names every endpoint the configuration lets the provider contact. Anything not
// named here is never contacted by the enclave side.
func endpointLog(ctx context.Context, cfg providerModel) {
	var endpoints []string
	switch {
	case cfg.Kubernetes != nil && cfg.Kubernetes.Kubeconfig.ValueString() != "":
		endpoints = append(endpoints, "kubernetes API from kubeconfig "+cfg.Kubernetes.Kubeconfig.ValueString()+contextSuffix(cfg.Kubernetes.Context))
	default:
		endpoints = append(endpoints, "kubernetes API through the in-cluster service account (only if a resource needs it)")
	}
	for _, r := range cfg.RegistryAuth {
		endpoints = append(endpoints, "registry "+r.Host.ValueString())
	}
	for _, r := range cfg.FallbackRegistries {
		endpoints = append(endpoints, "fallback registry "+r.Host.ValueString())
	}
	if o := cfg.ObjectStore; o != nil {
		switch {
		case o.Endpoint.ValueString() != "":
			endpoints = append(endpoints, "object store "+o.Endpoint.ValueString())
		case o.Service != nil:
			endpoints = append(endpoints, "object store discovered from service "+o.Service.Namespace.ValueString()+"/"+o.Service.Name.ValueString()+" port "+o.Service.PortName.ValueString())
		}
		if p := o.PresignEndpoint.ValueString(); p != "" {
			endpoints = append(endpoints, "presigned links for "+p+" (minted locally, never contacted)")
		}
	}
	sort.Strings(endpoints)
	tflog.Info(ctx, "airgap provider endpoints: the provider contacts these and nothing else (registries named by airgap_bundle image references on the connected side, and the registry named by each resource)", map[string]any{"endpoints": endpoints})
}

func contextSuffix(c types.String) string {
	if c.ValueString() == "" {
		return ""
	}
	return " (context " + c.ValueString() + ")"
}
