# Hydrate the in-cluster registry from a delivered bundle: verified first, every platform pushed.
resource "airgap_image_mirror" "shop" {
  bundle     = "/media/transfer/shop-2.3.0.tar"
  registry   = "127.0.0.1:31999"
  plain_http = true # the registry is on this node's loopback
}

output "web" {
  # Known at plan time from the signed BOM.
  value = airgap_image_mirror.shop.references["registry.example/shop/web:2.3.0"]
}
