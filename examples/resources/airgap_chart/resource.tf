# A Helm release of the bundle's chart. Rolling back is applying the older bundle.
resource "airgap_chart" "web" {
  depends_on = [airgap_image_mirror.shop]
  name       = "web"
  namespace  = "shop"
  bundle     = "/media/transfer/shop-2.3.0.tar"
  chart      = "web"
  registry   = airgap_registry.this.endpoint
  values = yamlencode({
    replicas         = 2
    imagePullSecrets = [{ name = airgap_registry.this.pull_secret }]
  })
  timeout = "5m"
}
