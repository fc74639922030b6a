# The customer co-signs the vendor's bundle after reviewing its BOM digest.
resource "airgap_bundle_signature" "customer" {
  bundle              = "/media/transfer/shop-2.3.0.tar"
  expected_bom_digest = "sha256:1ec0f85de9390a7430cf25b75b3591638b781ebc42a39c5c78a9e8f712323d05"
  signing_key         = { private_key = file("keys/customer.key") }
}

# A signature made elsewhere (`cosign sign-blob --key cosign.key bom.json`, the key in an HSM).
resource "airgap_bundle_signature" "hsm" {
  bundle = "/media/transfer/shop-2.3.0.tar"
  signature = {
    value      = file("bom.json.sig")
    public_key = file("keys/hsm.pub")
  }
}
