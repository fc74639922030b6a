package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// imageRefValidator delegates to the engine's parser, so the plan refuses exactly what the
// build would. References inside an OCI layout may be short names, so only syntax is checked
// here; the build enforces an explicit registry for registry sources.
type imageRefValidator struct{}

func (imageRefValidator) Description(context.Context) string {
	return "must be an image reference with a tag or digest"
}
func (v imageRefValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (imageRefValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := bundle.ValidateReference(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid image reference", err.Error())
	}
}

type rfc3339Validator struct{}

func (rfc3339Validator) Description(context.Context) string {
	return "must be an RFC 3339 time such as 2026-11-01T00:00:00Z"
}
func (v rfc3339Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (rfc3339Validator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.Parse(time.RFC3339, req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid time", "Write an RFC 3339 time such as 2026-11-01T00:00:00Z: "+err.Error())
	}
}

func platformListValidators() []validator.List {
	return []validator.List{
		listvalidator.UniqueValues(),
		listvalidator.ValueStringsAre(stringvalidator.RegexMatches(bundle.PlatformPattern, "must be os/arch or os/arch/variant, such as linux/amd64 or linux/arm64")),
	}
}
