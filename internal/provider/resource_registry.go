package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/deploy"
	"github.com/openairgap/terraform-provider-airgap/internal/inject"
	"github.com/openairgap/terraform-provider-airgap/internal/objstore"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
)

// RegistryS3EndpointEnv overrides the registry's S3 endpoint, ahead of configuration and
// discovery.
const RegistryS3EndpointEnv = "AIRGAP_REGISTRY_S3_ENDPOINT"

var (
	_ resource.ResourceWithConfigure  = (*registryResource)(nil)
	_ resource.ResourceWithModifyPlan = (*registryResource)(nil)
)

func newRegistryResource() resource.Resource { return &registryResource{} }

// registryResource runs the in-cluster registry, bootstrapped from an injection.
type registryResource struct{ data *providerData }

type registryModel struct {
	ID                   types.String  `tfsdk:"id"`
	SystemBundle         types.String  `tfsdk:"system_bundle"`
	Image                types.String  `tfsdk:"image"`
	Injection            types.String  `tfsdk:"injection"`
	Namespace            types.String  `tfsdk:"namespace"`
	Name                 types.String  `tfsdk:"name"`
	NodePort             types.Int64   `tfsdk:"node_port"`
	Authentication       types.Bool    `tfsdk:"authentication"`
	Username             types.String  `tfsdk:"username"`
	Password             types.String  `tfsdk:"password"`
	Storage              *storageModel `tfsdk:"storage"`
	PushEndpoint         types.String  `tfsdk:"push_endpoint"`
	PullSecretNamespaces types.Set     `tfsdk:"pull_secret_namespaces"`

	Endpoint           types.String `tfsdk:"endpoint"`
	RegistryImage      types.String `tfsdk:"registry_image"`
	BOMDigest          types.String `tfsdk:"bom_digest"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	PullSecret         types.String `tfsdk:"pull_secret"`
	Status             types.String `tfsdk:"status"`
}

type storageModel struct {
	Volume *volumeModel `tfsdk:"volume"`
	S3     *s3Model     `tfsdk:"s3"`
}

type volumeModel struct {
	Size           types.String `tfsdk:"size"`
	StorageClass   types.String `tfsdk:"storage_class"`
	FixPermissions types.Bool   `tfsdk:"fix_permissions"`
	KeepOnDestroy  types.Bool   `tfsdk:"keep_on_destroy"`
}

type s3Model struct {
	Endpoint      types.String `tfsdk:"endpoint"`
	Service       *serviceRef  `tfsdk:"service"`
	InsecureHTTP  types.Bool   `tfsdk:"insecure_http"`
	Bucket        types.String `tfsdk:"bucket"`
	Region        types.String `tfsdk:"region"`
	RootDirectory types.String `tfsdk:"root_directory"`
	AccessKey     types.String `tfsdk:"access_key"`
	SecretKey     types.String `tfsdk:"secret_key"`
	PathStyle     types.Bool   `tfsdk:"path_style"`
}

func (r *registryResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_registry"
}

func (r *registryResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d, ok := req.ProviderData.(*providerData); ok {
		r.data = d
	}
}

func (r *registryResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs the in-cluster registry (CNCF Distribution, from the signed system bundle) as a Deployment " +
			"behind a NodePort that every kubelet pulls from on `127.0.0.1`, storing on a volume or in an S3 bucket, with " +
			"credentials in a Secret and a pull Secret for workloads. A new registry starts on its image as `airgap_injection` " +
			"serves it, then its own image is pushed into it, it switches to pulling from itself and retires the injection. " +
			"A new system bundle upgrades it the same way, without an injection.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "`NAMESPACE/NAME`."},
			"system_bundle": schema.StringAttribute{Required: true,
				MarkdownDescription: "The system bundle holding the registry's image: a local path or `s3://bucket/key`. Verified under the provider's trust, every byte before anything is pushed."},
			"image": schema.StringAttribute{Optional: true, MarkdownDescription: "The registry image in the system bundle; unset: the bundle's only image."},
			"injection": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The `id` of the `airgap_injection` a new registry pulls its first image from, and retires. Only read when the registry is created."},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(deploy.DefaultNamespace), PlanModifiers: replace,
				MarkdownDescription: "Namespace of the registry's objects; created when missing."},
			"name": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(deploy.DefaultName), PlanModifiers: replace,
				MarkdownDescription: "Names and labels every object of the registry."},
			"node_port": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(deploy.DefaultNodePort),
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
				MarkdownDescription: "The NodePort the kubelet pulls from, on `127.0.0.1`; containerd must be allowed plain HTTP to it."},
			"authentication": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Require credentials (htpasswd, bcrypt) for every request, pulls included. `false` opens the registry to anything that reaches the NodePort."},
			"username": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(deploy.DefaultUsername),
				MarkdownDescription: "User name for pushes and pulls."},
			"password": schema.StringAttribute{Optional: true, Computed: true, Sensitive: true, PlanModifiers: keep,
				MarkdownDescription: "Password; unset: 32 random characters, generated once and kept in state."},
			"storage": schema.SingleNestedAttribute{Optional: true,
				PlanModifiers:       []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(storageKindChanged, "Moving between volume and S3 storage replaces the registry.", "Moving between volume and S3 storage replaces the registry.")},
				MarkdownDescription: "Where the registry keeps its data: `volume` (the default, 10Gi on the default StorageClass) or `s3`.",
				Attributes: map[string]schema.Attribute{
					"volume": schema.SingleNestedAttribute{Optional: true, MarkdownDescription: "A PersistentVolumeClaim, created once and kept across upgrades.",
						Validators: []validator.Object{objectvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("s3"))},
						Attributes: map[string]schema.Attribute{
							"size":          schema.StringAttribute{Optional: true, MarkdownDescription: "Requested size; default `10Gi`. It can grow where the StorageClass allows."},
							"storage_class": schema.StringAttribute{Optional: true, MarkdownDescription: "StorageClass; unset: the cluster's default, which must exist."},
							"fix_permissions": schema.BoolAttribute{Optional: true,
								MarkdownDescription: "Run an init container, as root with `CAP_CHOWN` only, that hands the volume to the registry's user: for provisioners that ignore fsGroup (hostPath). Not allowed under Pod Security `restricted`."},
							"keep_on_destroy": schema.BoolAttribute{Optional: true, MarkdownDescription: "Keep the claim, and the images in it, when the registry is destroyed."},
						}},
					"s3": schema.SingleNestedAttribute{Optional: true,
						MarkdownDescription: "An S3-compatible bucket, which must exist. Its data is never deleted by destroy. The endpoint is `" + RegistryS3EndpointEnv + "` when set, else `endpoint`, else discovered through the Kubernetes API from `service`.",
						Attributes: map[string]schema.Attribute{
							"endpoint": schema.StringAttribute{Optional: true, MarkdownDescription: "`host:port` as the registry pod reaches it."},
							"service": schema.SingleNestedAttribute{Optional: true, MarkdownDescription: "Discover the endpoint from this Service: its ClusterIP and the port with this name.",
								Attributes: map[string]schema.Attribute{
									"namespace": schema.StringAttribute{Required: true, MarkdownDescription: "Namespace of the Service."},
									"name":      schema.StringAttribute{Required: true, MarkdownDescription: "Name of the Service."},
									"port_name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the port in the Service's spec."},
								}},
							"insecure_http":  schema.BoolAttribute{Optional: true, MarkdownDescription: "Plain HTTP to the endpoint."},
							"bucket":         schema.StringAttribute{Required: true, MarkdownDescription: "The bucket."},
							"region":         schema.StringAttribute{Optional: true, MarkdownDescription: "Region; required on AWS, `us-east-1` elsewhere by default."},
							"root_directory": schema.StringAttribute{Optional: true, MarkdownDescription: "Key prefix for everything the registry stores."},
							"access_key":     schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Access key; with `secret_key`, or neither for the AWS SDK's own chain in the pod."},
							"secret_key":     schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Secret key."},
							"path_style":     schema.BoolAttribute{Optional: true, MarkdownDescription: "Path-style bucket addressing (MinIO and most S3-compatible stores); default true with an endpoint."},
						}},
				}},
			"push_endpoint": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Where the provider reaches the registry to push its image: `host:port`, on this node (plain HTTP). Unset: `endpoint`, for a provider running on a node."},
			"pull_secret_namespaces": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Namespaces that get a copy of the pull Secret, for workloads there."},
			"endpoint": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the kubelet pulls from: `127.0.0.1:NODE_PORT`; what image references name."},
			"registry_image": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The image the registry runs, from itself, pinned by digest. Read shows another value when someone changed the Deployment."},
			"bom_digest":          schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the system bundle's signed BOM."},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Fingerprints of the system bundle's accepted signers."},
			"pull_secret":         schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "Name of the `kubernetes.io/dockerconfigjson` Secret for workloads; empty without authentication."},
			"status":              schema.StringAttribute{Computed: true, PlanModifiers: keep, MarkdownDescription: "`serving`, or what Read found missing."},
		},
	}
}

// storageKindChanged replaces the registry when its storage moves between volume and S3.
func storageKindChanged(ctx context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
	kind := func(v types.Object) string {
		if v.IsNull() || v.IsUnknown() {
			return "volume"
		}
		if s3, ok := v.Attributes()["s3"]; ok && !s3.IsNull() {
			return "s3"
		}
		return "volume"
	}
	resp.RequiresReplace = kind(req.StateValue) != kind(req.PlanValue)
}

// engine turns the model into the engine's description; the S3 endpoint is resolved.
func (r *registryResource) engine(ctx context.Context, m registryModel) (deploy.Registry, error) {
	reg := deploy.Registry{Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), NodePort: int32(m.NodePort.ValueInt64())}
	if m.Authentication.ValueBool() {
		reg.Username, reg.Password = m.Username.ValueString(), m.Password.ValueString()
	}
	switch s := m.Storage; {
	case s == nil || s.Volume != nil:
		v := &deploy.Volume{}
		if s != nil {
			v.Size, v.StorageClass = s.Volume.Size.ValueString(), s.Volume.StorageClass.ValueString()
			v.FixPermissions = s.Volume.FixPermissions.ValueBool()
		}
		reg.Storage.Volume = v
	default:
		endpoint, err := r.s3Endpoint(ctx, s.S3)
		if err != nil {
			return reg, err
		}
		reg.Storage.S3 = &deploy.S3{Endpoint: endpoint, Bucket: s.S3.Bucket.ValueString(), Region: s.S3.Region.ValueString(),
			RootDirectory: s.S3.RootDirectory.ValueString(), AccessKey: s.S3.AccessKey.ValueString(), SecretKey: s.S3.SecretKey.ValueString(),
			PathStyle: s.S3.PathStyle.IsNull() && endpoint != "" || s.S3.PathStyle.ValueBool()}
	}
	return reg, nil
}

// s3Endpoint is the URL the registry pod uses: the environment override, the configured
// endpoint, or the Service's ClusterIP and named port, looked up through the Kubernetes API.
func (r *registryResource) s3Endpoint(ctx context.Context, s *s3Model) (string, error) {
	scheme := "https://"
	if s.InsecureHTTP.ValueBool() {
		scheme = "http://"
	}
	hostPort := s.Endpoint.ValueString()
	if v := os.Getenv(RegistryS3EndpointEnv); v != "" {
		hostPort = v
	} else if hostPort == "" && s.Service != nil {
		cs, err := r.data.kubeClient()
		if err != nil {
			return "", err
		}
		d := &objstore.Discoverer{Namespace: s.Service.Namespace.ValueString(), Service: s.Service.Name.ValueString(),
			PortName: s.Service.PortName.ValueString(), Kube: cs}
		if hostPort, err = d.Endpoint(ctx); err != nil {
			return "", fmt.Errorf("discovering the registry's S3 endpoint (status: %s): %w", d.Status(), err)
		}
	}
	if hostPort == "" {
		return "", nil // AWS S3, by region
	}
	if strings.Contains(hostPort, "://") {
		return hostPort, nil
	}
	tflog.Info(ctx, "registry S3 endpoint", map[string]any{"endpoint": scheme + hostPort})
	return scheme + hostPort, nil
}

func (r *registryResource) system(ctx context.Context, m registryModel) (*bundle.Bundle, *deploy.System, error) {
	return r.data.openSystem(ctx, m.SystemBundle.ValueString(), m.Image.ValueString())
}

func describeRegistry(ctx context.Context, m *registryModel, b *bundle.Bundle, sys *deploy.System) diag.Diagnostics {
	var diags diag.Diagnostics
	endpoint := fmt.Sprintf("127.0.0.1:%d", m.NodePort.ValueInt64())
	self, err := sys.SelfImage(endpoint)
	if err != nil {
		diags.AddAttributeError(path.Root("node_port"), "Invalid registry endpoint", err.Error())
		return diags
	}
	m.ID = types.StringValue(m.Namespace.ValueString() + "/" + m.Name.ValueString())
	m.Endpoint = types.StringValue(endpoint)
	m.RegistryImage = types.StringValue(self)
	m.BOMDigest = types.StringValue(b.BOMDigest)
	var d diag.Diagnostics
	m.SignerFingerprints, d = types.ListValueFrom(ctx, types.StringType, fingerprints(b))
	return append(diags, d...)
}

// ModifyPlan shows, from the verified system bundle, the image the registry will run and who
// signed it.
func (r *registryResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan registryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.SystemBundle.IsUnknown() || plan.Image.IsUnknown() || plan.NodePort.IsUnknown() {
		return
	}
	if req.State.Raw.IsNull() && plan.Injection.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("injection"), "A new registry needs an injection",
			"The cluster has no registry to pull the registry's own image from: give `injection = airgap_injection.NAME.id`.")
		return
	}
	b, sys, err := r.system(ctx, plan)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("system_bundle"), "System bundle rejected", err.Error())
		return
	}
	defer b.Close()
	resp.Diagnostics.Append(describeRegistry(ctx, &plan, b, sys)...)
	if plan.Authentication.ValueBool() {
		plan.PullSecret = types.StringValue(deploy.PullSecretName(plan.Name.ValueString()))
	} else {
		plan.PullSecret = types.StringValue("")
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *registryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.install(ctx, req.Plan, &resp.State, true)...)
}

// Update pushes the (possibly new) image into the running registry and applies the rest: a
// new system bundle upgrades it, and objects changed or deleted by hand are restored.
func (r *registryResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.install(ctx, req.Plan, &resp.State, false)...)
}

func (r *registryResource) install(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, create bool) diag.Diagnostics {
	var m registryModel
	diags := plan.Get(ctx, &m)
	if diags.HasError() {
		return diags
	}
	if m.Password.IsUnknown() || m.Password.IsNull() {
		m.Password = types.StringValue(randomPassword())
	}
	b, sys, err := r.system(ctx, m)
	if err != nil {
		diags.AddAttributeError(path.Root("system_bundle"), "System bundle rejected", err.Error())
		return diags
	}
	defer b.Close()
	if err := b.VerifyPayload(ctx); err != nil {
		diags.AddAttributeError(path.Root("system_bundle"), "System bundle rejected", err.Error()+": nothing was changed")
		return diags
	}
	if diags.Append(describeRegistry(ctx, &m, b, sys)...); diags.HasError() {
		return diags
	}
	cs := r.data.kube(&diags)
	if diags.HasError() {
		return diags
	}
	reg, err := r.engine(ctx, m)
	if err != nil {
		diags.AddAttributeError(path.Root("storage"), "Registry storage", err.Error())
		return diags
	}
	reg.Image = m.RegistryImage.ValueString()
	boot := deploy.Bootstrap{Self: reg.Image, PushEndpoint: m.PushEndpoint.ValueString()}
	if create {
		ns, name, ok := strings.Cut(m.Injection.ValueString(), "/")
		if !ok {
			diags.AddAttributeError(path.Root("injection"), "Invalid injection", "want the id of an airgap_injection, NAMESPACE/NAME")
			return diags
		}
		st, err := inject.Status(ctx, cs, ns, name)
		if err != nil {
			diags.AddAttributeError(path.Root("injection"), "Cannot read the injection", err.Error())
			return diags
		}
		if !st.Serving() {
			diags.AddAttributeError(path.Root("injection"), "The injection is not serving",
				fmt.Sprintf("injection %s/%s is not serving (missing: %s; pod ready: %t): apply it again (taint it if needed)", ns, name, strings.Join(st.Missing, ", "), st.Ready))
			return diags
		}
		endpoint := fmt.Sprintf("127.0.0.1:%d", st.NodePort)
		boot.Seed = sys.SeedImage(endpoint)
		boot.Injection = &deploy.Injection{Namespace: ns, Name: name, PayloadDigest: st.PayloadDigest}
		tflog.Info(ctx, "starting the registry from its injection", map[string]any{"seed_image": boot.Seed})
	}
	pushTo := boot.PushEndpoint
	if pushTo == "" {
		pushTo = reg.Endpoint()
	}
	tflog.Info(ctx, "registry endpoints", map[string]any{"pull": reg.Endpoint(), "push": pushTo})
	boot.Push = func(ctx context.Context) error {
		target := registry.Target{Host: pushTo, PlainHTTP: true}
		if reg.Username != "" {
			target.Auth = &authn.Basic{Username: reg.Username, Password: reg.Password}
		}
		res, err := registry.Mirror(ctx, b, target, registry.WithLogger(tfLogger(ctx)))
		if err == nil {
			tflog.Info(ctx, "registry image pushed into the registry", map[string]any{"bytes_sent": res.BytesSent, "seconds": res.Duration.Seconds()})
		}
		return err
	}
	st, timing, err := deploy.Install(ctx, cs, reg, boot)
	if err != nil {
		diags.AddError("Installing the registry failed", err.Error())
		return diags
	}
	tflog.Info(ctx, "registry serving its own image", map[string]any{"image": st.Image, "seeded_seconds": timing.Seeded.Seconds(),
		"pushed_seconds": timing.Pushed.Seconds(), "switched_seconds": timing.Switched.Seconds(), "retired_seconds": timing.Retired.Seconds()})
	m.PullSecret = types.StringValue("")
	if reg.Username != "" {
		m.PullSecret = types.StringValue(deploy.PullSecretName(reg.Name))
		var namespaces []string
		diags.Append(m.PullSecretNamespaces.ElementsAs(ctx, &namespaces, false)...)
		for _, ns := range namespaces {
			if _, err := deploy.CopyPullSecret(ctx, cs, reg, ns); err != nil {
				diags.AddAttributeError(path.Root("pull_secret_namespaces"), "Copying the pull secret failed", err.Error())
			}
		}
	}
	m.Status = types.StringValue("serving")
	diags.Append(state.Set(ctx, &m)...)
	return diags
}

// Read notices a registry changed or damaged by hand: its image, an object missing.
func (r *registryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m registryModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cs := r.data.kube(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	st, err := deploy.Status(ctx, cs, m.Namespace.ValueString(), m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Reading the registry failed", err.Error())
		return
	}
	if !st.Exists() {
		tflog.Warn(ctx, "the registry's Deployment is gone", map[string]any{"namespace": st.Namespace, "name": st.Name})
		resp.State.RemoveResource(ctx)
		return
	}
	m.RegistryImage = types.StringValue(st.Image)
	switch {
	case len(st.Missing) > 0:
		m.Status = types.StringValue("missing " + strings.Join(st.Missing, ", "))
		m.RegistryImage = types.StringValue("")
	case !st.RolledOut:
		m.Status = types.StringValue("not rolled out")
	default:
		m.Status = types.StringValue("serving")
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *registryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m registryModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cs := r.data.kube(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	keep := m.Storage != nil && m.Storage.Volume != nil && m.Storage.Volume.KeepOnDestroy.ValueBool()
	if err := deploy.Remove(ctx, cs, m.Namespace.ValueString(), m.Name.ValueString(), keep); err != nil {
		resp.Diagnostics.AddError("Removing the registry failed", err.Error())
	}
}

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
