package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

var _ datasource.DataSourceWithConfigure = (*receiptsDataSource)(nil)

func newReceiptsDataSource() datasource.DataSource { return &receiptsDataSource{} }

type receiptsDataSource struct{ data *providerData }

type receiptsDataModel struct {
	Namespace   types.String          `tfsdk:"namespace"`
	Stream      types.String          `tfsdk:"stream"`
	TrustedKeys []receiptKeyDataModel `tfsdk:"trusted_keys"`
	KnownHead   types.String          `tfsdk:"known_head"`

	Head     types.String `tfsdk:"head"`
	Verified types.Bool   `tfsdk:"verified"`
	Problems types.List   `tfsdk:"problems"`
	Receipts types.List   `tfsdk:"receipts"`
}

type receiptKeyDataModel struct {
	Name      types.String `tfsdk:"name"`
	PublicKey types.String `tfsdk:"public_key"`
}

// receiptEntry is one element of the receipts attribute.
type receiptEntry struct {
	Name       string            `tfsdk:"name"`
	Sequence   int64             `tfsdk:"sequence"`
	Time       string            `tfsdk:"time"`
	Action     string            `tfsdk:"action"`
	Resource   string            `tfsdk:"resource"`
	Operator   string            `tfsdk:"operator"`
	Digest     string            `tfsdk:"digest"`
	SignedBy   string            `tfsdk:"signed_by"`
	Signature  string            `tfsdk:"signature"`
	Signer     string            `tfsdk:"signer"`
	BOMDigests []string          `tfsdk:"bom_digests"`
	Images     map[string]string `tfsdk:"images"`
	Releases   []string          `tfsdk:"releases"`
	Problems   []string          `tfsdk:"problems"`
}

var receiptEntryType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "sequence": types.Int64Type, "time": types.StringType, "action": types.StringType,
	"resource": types.StringType, "operator": types.StringType, "digest": types.StringType, "signed_by": types.StringType,
	"signature": types.StringType, "signer": types.StringType, "bom_digests": types.ListType{ElemType: types.StringType},
	"images": types.MapType{ElemType: types.StringType}, "releases": types.ListType{ElemType: types.StringType},
	"problems": types.ListType{ElemType: types.StringType},
}}

// receiptDigest is how a receipt is named: the SHA-256 of its document.
var receiptDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// signatureStatuses are the values of a receipt's signature, for the documentation.
var signatureStatuses = []receipt.SignatureStatus{receipt.SignatureVerified, receipt.SignatureRejected, receipt.SignatureUnsigned, receipt.SignatureNotChecked}

func (d *receiptsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_receipts"
}

func (d *receiptsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if pd, ok := req.ProviderData.(*providerData); ok {
		d.data = pd
	}
}

func (d *receiptsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	quoted := make([]string, len(signatureStatuses))
	for i, s := range signatureStatuses {
		quoted[i] = "`" + string(s) + "`"
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the history of deployment receipts back from the cluster and verifies it: every document against " +
			"its digest, every link of the hash chain, and every signature against `trusted_keys`. A broken history does not fail " +
			"the read: it is reported, receipt by receipt, so an auditor sees everything that is there. Only invalid input and " +
			"failed API calls are errors.",
		Attributes: map[string]schema.Attribute{
			"namespace": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Namespace that keeps the receipts. " +
				"Default: the provider's `receipts.namespace`, else `" + defaultReceiptNamespace + "`."},
			"stream": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "The history to read. " +
				"Default: the provider's `receipts.stream`, else `" + defaultReceiptStream + "`."},
			"trusted_keys": schema.ListNestedAttribute{Optional: true,
				MarkdownDescription: "Operator keys whose signatures count. With any, every receipt must carry a signature by one of them; " +
					"with none, signatures are reported `not checked` and `verified` speaks for the documents and the chain only.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":       schema.StringAttribute{Required: true, MarkdownDescription: "A name for the key, shown as a receipt's `signer`."},
					"public_key": schema.StringAttribute{Required: true, MarkdownDescription: "The PEM public key, as `cosign generate-key-pair` writes `cosign.pub`."},
				}}},
			"known_head": schema.StringAttribute{Optional: true,
				Validators:          []validator.String{stringvalidator.RegexMatches(receiptDigest, "must be the digest of a receipt, sha256:<64 hex digits>")},
				MarkdownDescription: "The `head` a previous read returned, kept by the caller. The chain cannot show that its newest receipts were deleted or the newest replaced; this can."},
			"head":     computed("Digest of the newest readable receipt; null when there is none."),
			"verified": schema.BoolAttribute{Computed: true, MarkdownDescription: "Every receipt is intact, linked and (with `trusted_keys`) signed by a trusted key, and the stream has no problem."},
			"problems": stringsList("What is wrong with the stream as a whole, such as a `known_head` that is gone. Problems of single receipts are on the receipt."),
			"receipts": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Every object of the stream, in sequence order; objects that hold no readable receipt last, with their problems.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":        computed("Name of the ConfigMap."),
					"sequence":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Place in the stream, from 1; 0 when the object is not named as a receipt."},
					"time":        computed("When the apply was recorded (RFC 3339, UTC)."),
					"action":      computed("What the apply did: `" + joinActions() + "`."),
					"resource":    computed("The Terraform resource that applied."),
					"operator":    computed("Who applied, as configured."),
					"digest":      computed("SHA-256 of the receipt document, what the next receipt links to."),
					"signed_by":   computed("Fingerprint of the key the document says signed it; empty when unsigned."),
					"signature":   computed("What became of the signature: " + strings.Join(quoted, ", ") + "."),
					"signer":      computed("Name of the trusted key that verified the signature, or empty."),
					"bom_digests": stringsList("BOM digests of the bundles the apply used."),
					"images":      schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Each image as configured to the reference, by digest, that was deployed (several, comma-separated, when one source was deployed as several digests)."},
					"releases":    stringsList("Each release or manifest set, as `chart shop/web revision 3 chart 1.2.0 sha256:...`: kind, namespace/name, revision, chart version, digest of the rendered manifests."),
					"problems":    stringsList("What is wrong with this receipt, each naming it; empty when it is intact."),
				}}},
		},
	}
}

func stringsList(desc string) schema.ListAttribute {
	return schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: desc}
}

func joinActions() string {
	out := make([]string, len(receipt.Actions))
	for i, a := range receipt.Actions {
		out[i] = string(a)
	}
	return strings.Join(out, "`, `")
}

func (d *receiptsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m receiptsDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "The airgap provider was not configured before the receipts were read.")
		return
	}
	s := d.data.receipts.stream
	if s == (receipt.Stream{}) {
		s = receipt.Stream{Namespace: defaultReceiptNamespace, Name: defaultReceiptStream}
	}
	if !m.Namespace.IsNull() {
		s.Namespace = m.Namespace.ValueString()
	}
	if !m.Stream.IsNull() {
		s.Name = m.Stream.ValueString()
	}
	if attr, err := checkStream(s); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid receipts "+attr, err.Error())
		return
	}
	opts := receipt.ListOptions{KnownHead: m.KnownHead.ValueString()}
	if len(m.TrustedKeys) > 0 {
		policy, diags := receiptPolicy(m.TrustedKeys)
		if resp.Diagnostics.Append(diags...); diags.HasError() {
			return
		}
		opts.Policy = &policy
	}
	cs, err := d.data.kubeClient()
	if err != nil {
		resp.Diagnostics.AddError("Cannot reach the Kubernetes API", err.Error())
		return
	}
	h, err := receipt.List(ctx, cs, s, opts)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the receipts", err.Error())
		return
	}
	m.Namespace, m.Stream = types.StringValue(s.Namespace), types.StringValue(s.Name)
	resp.Diagnostics.Append(m.fill(ctx, h)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// receiptPolicy trusts the given operator keys; a key that does not parse is an error on it.
func receiptPolicy(keys []receiptKeyDataModel) (signing.Policy, diag.Diagnostics) {
	var diags diag.Diagnostics
	var p signing.Policy
	for i, k := range keys {
		pub, err := signing.ParsePublicKey([]byte(k.PublicKey.ValueString()))
		if err != nil {
			diags.AddAttributeError(path.Root("trusted_keys").AtListIndex(i).AtName("public_key"), "Invalid public key", err.Error())
			continue
		}
		p.Keys = append(p.Keys, signing.TrustedKey{Name: k.Name.ValueString(), Key: pub})
	}
	if !diags.HasError() {
		if err := p.Validate(); err != nil {
			diags.AddAttributeError(path.Root("trusted_keys"), "Invalid trusted keys", err.Error())
		}
	}
	return p, diags
}

func (m *receiptsDataModel) fill(ctx context.Context, h *receipt.History) diag.Diagnostics {
	var diags, d diag.Diagnostics
	m.Head = types.StringNull()
	if head := h.Head(); head != nil {
		m.Head = types.StringValue(head.Digest)
	}
	m.Verified = types.BoolValue(h.Err() == nil)
	m.Problems, d = types.ListValueFrom(ctx, types.StringType, nonNil(h.Problems))
	diags.Append(d...)
	entries := make([]receiptEntry, 0, len(h.Entries))
	for _, e := range h.Entries {
		entries = append(entries, entryOf(e))
	}
	m.Receipts, d = types.ListValueFrom(ctx, receiptEntryType, entries)
	diags.Append(d...)
	return diags
}

// entryOf shows one entry; an object with no readable receipt shows its name and problems only.
func entryOf(e receipt.Entry) receiptEntry {
	out := receiptEntry{
		Name: e.Name, Sequence: int64(e.Sequence), Signature: string(e.Signature), Problems: nonNil(e.Problems),
		BOMDigests: []string{}, Images: map[string]string{}, Releases: []string{},
	}
	if e.Signer != nil {
		out.Signer = e.Signer.Name
	}
	if e.Record == nil {
		return out
	}
	r := e.Record.Receipt
	out.Time, out.Action, out.Resource, out.Operator = r.Time.Format(time.RFC3339), string(r.Action), r.Resource, r.Operator
	out.Digest, out.SignedBy = e.Record.Digest, r.SignedBy
	for _, b := range r.Bundles {
		out.BOMDigests = append(out.BOMDigests, b.BOMDigest)
	}
	deployed := map[string][]string{}
	for _, im := range r.Images {
		deployed[im.Source] = append(deployed[im.Source], im.Deployed)
	}
	for src, refs := range deployed {
		// One source deployed as several digests (platforms pinned apart) keeps them all.
		out.Images[src] = strings.Join(refs, ", ")
	}
	for _, rel := range r.Releases {
		out.Releases = append(out.Releases, describeRelease(rel))
	}
	return out
}

// describeRelease writes a release on one line: "chart shop/web revision 3 chart 1.2.0 sha256:...".
func describeRelease(r receipt.Release) string {
	name := r.Name
	if r.Namespace != "" {
		name = r.Namespace + "/" + r.Name
	}
	s := fmt.Sprintf("%s %s revision %d", r.Kind, name, r.Revision)
	if r.ChartVersion != "" {
		s += " chart " + r.ChartVersion
	}
	return s + " " + r.ManifestDigest
}
