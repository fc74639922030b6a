package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

type bundleResourceModel struct {
	ID          types.String      `tfsdk:"id"`
	Name        types.String      `tfsdk:"name"`
	Version     types.String      `tfsdk:"version"`
	Output      types.String      `tfsdk:"output"`
	PartSize    types.Int64       `tfsdk:"part_size"`
	Created     types.String      `tfsdk:"created"`
	Images      []imageSpecModel  `tfsdk:"images"`
	Charts      []chartSpecModel  `tfsdk:"charts"`
	Manifests   []types.String    `tfsdk:"manifests"`
	Files       map[string]string `tfsdk:"files"`
	SigningKeys []signingKeyModel `tfsdk:"signing_keys"`

	SHA256             types.String `tfsdk:"sha256"`
	BOMDigest          types.String `tfsdk:"bom_digest"`
	Size               types.Int64  `tfsdk:"size"`
	Paths              types.List   `tfsdk:"paths"`
	SignerFingerprints types.List   `tfsdk:"signer_fingerprints"`
	BundledImages      types.List   `tfsdk:"bundled_images"`

	UploadTo        types.String `tfsdk:"upload_to"`
	PresignLifetime types.String `tfsdk:"presign_lifetime"`
	Uploaded        types.List   `tfsdk:"uploaded"`
	BOMURL          types.String `tfsdk:"bom_url"`
	SBOMURL         types.String `tfsdk:"sbom_url"`
}

type imageSpecModel struct {
	Ref       types.String   `tfsdk:"ref"`
	Platforms []types.String `tfsdk:"platforms"`
	Layout    types.String   `tfsdk:"layout"`
}

type chartSpecModel struct {
	Path      types.String `tfsdk:"path"`
	Values    types.String `tfsdk:"values"`
	Namespace types.String `tfsdk:"namespace"`
}

// imageObjectType describes one carried image in computed attributes, here and in the data source.
var imageObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"ref":           types.StringType,
	"name":          types.StringType,
	"tag":           types.StringType,
	"digest":        types.StringType,
	"source_digest": types.StringType,
	"platforms":     types.MapType{ElemType: types.StringType},
}}

func imageAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"ref":           schema.StringAttribute{Computed: true, MarkdownDescription: "The reference as configured."},
		"name":          schema.StringAttribute{Computed: true, MarkdownDescription: "The normalised repository, registry host included (`docker.io/library/nginx`)."},
		"tag":           schema.StringAttribute{Computed: true, MarkdownDescription: "The tag, empty for a reference by digest."},
		"digest":        schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the manifest or index the bundle carries."},
		"source_digest": schema.StringAttribute{Computed: true, MarkdownDescription: "Digest at the source; differs from `digest` when only some platforms were taken."},
		"platforms":     schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Each platform (`linux/amd64`) to its manifest digest."},
	}
}

func bundleResourceSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "Builds one self-contained, signed air-gap bundle on the connected side: OCI images " +
			"(every platform asked for), Helm charts, manifests, files, a CycloneDX SBOM, and a bill of materials " +
			"listing the SHA-256 of every byte, signed with cosign-compatible keys. The build fails when a chart or " +
			"manifest uses an image the bundle does not carry. The same inputs give a byte-identical BOM and payload. " +
			"If the bundle file is deleted or modified, the next plan rebuilds it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The output path.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name":    schema.StringAttribute{Required: true, MarkdownDescription: "The bundle's name: letters, digits, `.`, `_` and `-`."},
			"version": schema.StringAttribute{Required: true, MarkdownDescription: "The bundle's version, recorded in the BOM and the SBOM."},
			"output":  schema.StringAttribute{Required: true, MarkdownDescription: "Where to write the bundle. Split bundles are written as `OUTPUT.part000` (the signed head) and `OUTPUT.part001`..."},
			"part_size": schema.Int64Attribute{Optional: true, MarkdownDescription: "Split the bundle into parts of at most this many bytes, for removable media. Each part's SHA-256 is in the signed BOM. At least 1 MiB.",
				Validators: []validator.Int64{int64validator.AtLeast(bundle.MinPartSize)}},
			"created": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Creation time (RFC 3339) recorded in the BOM and used for every entry. Defaults to the time of the first build and is then kept, so rebuilds of the same inputs are byte-identical.",
				Validators:          []validator.String{rfc3339Validator{}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"images": schema.ListNestedAttribute{Optional: true, MarkdownDescription: "Images to carry, pinned to digests at build time.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"ref": schema.StringAttribute{Required: true, Validators: []validator.String{imageRefValidator{}},
						MarkdownDescription: "Registry reference naming its registry (`registry.example/app:1.2`, `docker.io/library/nginx:1.27`), or with `layout` the image's name in that OCI layout. Short names are refused: nothing is pulled from a registry the configuration does not name."},
					"platforms": schema.ListAttribute{Optional: true, ElementType: types.StringType, Validators: platformListValidators(),
						MarkdownDescription: "Platforms to take from an index (`linux/amd64`, `linux/arm64`). Empty takes every platform. A listed platform the image lacks is an error."},
					"layout": schema.StringAttribute{Optional: true, MarkdownDescription: "An OCI image layout directory to take the image from instead of a registry."},
				}}},
			"charts": schema.ListNestedAttribute{Optional: true, MarkdownDescription: "Helm charts to carry (a chart directory or a packaged `.tgz`). Each is rendered at build time and every image it uses must be in `images`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"path":      schema.StringAttribute{Required: true, MarkdownDescription: "Chart directory or `.tgz`."},
					"values":    schema.StringAttribute{Optional: true, MarkdownDescription: "Values (YAML) to render with when checking images."},
					"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Namespace to render into; `default` when unset."},
				}}},
			"manifests": schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Files of plain Kubernetes YAML to carry. Every image they use must be in `images`."},
			"files":     schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Arbitrary files to carry: name in the bundle to source path."},
			"signing_keys": schema.ListNestedAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "Keys that sign the BOM at build time. Without any, the bundle is built unsigned and no enclave will accept it until `airgap_bundle_signature` signs it.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"private_key": schema.StringAttribute{Required: true, Sensitive: true, MarkdownDescription: "The encrypted private key PEM written by `cosign generate-key-pair`."},
					"password":    schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "The key's password. When unset, read from `COSIGN_PASSWORD` at apply time, which keeps it out of configuration and state."},
					"certificate": schema.StringAttribute{Optional: true, MarkdownDescription: "An x509 signing certificate (PEM) for the key, to be verified against a trusted root."},
					"chain":       schema.StringAttribute{Optional: true, MarkdownDescription: "Intermediate certificates (PEM) from the signing certificate up to the root."},
				}}},

			"sha256":              schema.StringAttribute{Computed: true, MarkdownDescription: "SHA-256 of the bundle file; for a split bundle, of part 0, which holds the signed BOM and through it every part's digest."},
			"bom_digest":          schema.StringAttribute{Computed: true, MarkdownDescription: "Digest of the BOM, the document the signatures cover."},
			"size":                schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes written, all parts together."},
			"paths":               schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The files written: the bundle, or its parts in order."},
			"signer_fingerprints": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "SHA-256 fingerprints of the keys that signed at build time."},
			"upload_to": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Also upload the bundle to `s3://bucket/key` in the provider's `object_store` (multipart, resumed after an interruption, skipped when the object is already there with the same sha256; the bucket is created if missing). The parts of a split bundle keep their suffixes; the BOM and the SBOM go beside it as `KEY.bom.json` and `KEY.sbom.cdx.json`."},
			"presign_lifetime": schema.StringAttribute{Optional: true, MarkdownDescription: "How long the presigned links to the BOM and the SBOM stay valid (a Go duration such as `24h`, the default)."},
			"uploaded":         schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The `s3://` objects the bundle was uploaded to."},
			"bom_url":          schema.StringAttribute{Computed: true, MarkdownDescription: "A presigned link to the uploaded BOM, minted for the object store's `presign_endpoint`, for an auditor with a browser."},
			"sbom_url":         schema.StringAttribute{Computed: true, MarkdownDescription: "A presigned link to the uploaded SBOM."},
			"bundled_images": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The carried images with their digests per platform.",
				NestedObject: schema.NestedAttributeObject{Attributes: imageAttributes()}},
		},
	}
}
