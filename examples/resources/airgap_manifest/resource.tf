# The bundle's plain manifests, applied server-side, images rewritten to the in-cluster registry.
resource "airgap_manifest" "shop" {
  depends_on = [airgap_image_mirror.shop] # the images are there before anything pulls them
  name       = "shop"
  bundle     = "/media/transfer/shop-2.3.0.tar"
  registry   = airgap_registry.this.endpoint
  namespace  = "shop"
}

output "shop_images" {
  # Known at plan time: every image as the manifests name it, and what the cluster will pull.
  value = airgap_manifest.shop.images
}
