package provider

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// trustPolicy converts the provider's trust configuration.
func trustPolicy(cfg providerModel, now func() time.Time) (signing.Policy, error) {
	p := signing.Policy{Now: now}
	for i, k := range cfg.TrustedKeys {
		pub, err := signing.ParsePublicKey([]byte(k.PublicKey.ValueString()))
		if err != nil {
			return p, fmt.Errorf("trusted_keys[%d] (%s): public_key: %w", i, k.Name.ValueString(), err)
		}
		tk := signing.TrustedKey{Name: k.Name.ValueString(), Key: pub}
		if tk.NotBefore, err = optionalTime(k.NotBefore); err != nil {
			return p, fmt.Errorf("trusted_keys[%d] (%s): not_before: %w", i, tk.Name, err)
		}
		if tk.NotAfter, err = optionalTime(k.NotAfter); err != nil {
			return p, fmt.Errorf("trusted_keys[%d] (%s): not_after: %w", i, tk.Name, err)
		}
		p.Keys = append(p.Keys, tk)
	}
	for i, r := range cfg.TrustedRoots {
		certs, err := signing.ParseCertificates([]byte(r.Certificate.ValueString()))
		if err != nil {
			return p, fmt.Errorf("trusted_roots[%d] (%s): certificate: %w", i, r.Name.ValueString(), err)
		}
		p.Roots = append(p.Roots, signing.TrustedRoot{Name: r.Name.ValueString(), Cert: certs[0]})
	}
	for _, s := range cfg.RequiredSigners {
		p.Required = append(p.Required, s.ValueString())
	}
	return p, p.Validate()
}

func optionalTime(v types.String) (time.Time, error) {
	if v.IsNull() || v.ValueString() == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v.ValueString())
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", v.ValueString())
	}
	return t, nil
}

// signingKeyModel is a cosign key pair's private half, with its password and optional certificate.
type signingKeyModel struct {
	PrivateKey  types.String `tfsdk:"private_key"`
	Password    types.String `tfsdk:"password"`
	Certificate types.String `tfsdk:"certificate"`
	Chain       types.String `tfsdk:"chain"`
}

// passwordEnv is where cosign itself reads a key's password; we honour it the same way so that
// the password need not be written in configuration or state.
const passwordEnv = "COSIGN_PASSWORD"

func (m signingKeyModel) load() (bundle.SigningKey, error) {
	password := m.Password.ValueString()
	if m.Password.IsNull() {
		password = os.Getenv(passwordEnv)
	}
	signer, err := signing.LoadPrivateKey([]byte(m.PrivateKey.ValueString()), []byte(password))
	if err != nil {
		return bundle.SigningKey{}, err
	}
	return bundle.SigningKey{Signer: signer, Certificate: []byte(m.Certificate.ValueString()), Chain: []byte(m.Chain.ValueString())}, nil
}
