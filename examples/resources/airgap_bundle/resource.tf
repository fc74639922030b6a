# Connected side: one signed bundle of two multi-platform images, a chart and a manifest.
resource "airgap_bundle" "app" {
  name    = "shop"
  version = "2.3.0"
  output  = "${path.module}/out/shop-2.3.0.tar"

  images = [
    { ref = "registry.example/shop/web:2.3.0", platforms = ["linux/amd64", "linux/arm64"] },
    { ref = "registry.example/shop/worker:2.3.0", platforms = ["linux/amd64", "linux/arm64"] },
  ]
  charts    = [{ path = "${path.module}/charts/shop", values = file("${path.module}/values.yaml") }]
  manifests = ["${path.module}/manifests/network-policy.yaml"]
  files     = { "release-notes.md" = "${path.module}/RELEASE.md" }

  # Split for 4 GiB removable media; each part's digest is in the signed BOM.
  part_size = 4 * 1024 * 1024 * 1024

  # The password is read from COSIGN_PASSWORD at apply time.
  signing_keys = [{ private_key = file("${path.module}/keys/vendor.key") }]
}
