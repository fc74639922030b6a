# Enclave side: verify a delivered bundle; the plan shows its signers and digests.
data "airgap_bundle" "shop" {
  path = "/media/transfer/shop-2.3.0.tar"
}

output "evidence" {
  value = {
    bom_digest = data.airgap_bundle.shop.bom_digest
    signers    = data.airgap_bundle.shop.signers
    images     = { for i in data.airgap_bundle.shop.images : i.ref => i.platforms }
  }
}
