# The in-cluster reference of an image the verified bundle carries, pinned by digest.
data "airgap_bundle" "shop" {
  path = "/media/transfer/shop-2.3.0.tar"
}

locals {
  # "127.0.0.1:31999/shop/web@sha256:..."
  web_image = provider::airgap::image_ref(data.airgap_bundle.shop.images, "registry.example/shop/web:2.3.0", "127.0.0.1:31999")
}
