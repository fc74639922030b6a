# The in-cluster registry: first pulled from the injection, then from itself. The injection's
# objects are removed once the registry serves its own image.
resource "airgap_registry" "this" {
  system_bundle = airgap_injection.seed.system_bundle
  injection     = airgap_injection.seed.id
  storage = {
    volume = { size = "50Gi" }
  }
  pull_secret_namespaces = ["shop"]
}

# Or on S3-compatible storage, the endpoint discovered through the Kubernetes API.
resource "airgap_registry" "on_s3" {
  system_bundle = airgap_injection.seed.system_bundle
  injection     = airgap_injection.seed.id
  name          = "registry-s3"
  node_port     = 31997
  storage = {
    s3 = {
      bucket        = "registry"
      service       = { namespace = "storage", name = "minio", port_name = "s3" }
      insecure_http = true
      access_key    = var.s3_access_key
      secret_key    = var.s3_secret_key
    }
  }
}

# Hydrate it from an application bundle.
resource "airgap_image_mirror" "shop" {
  bundle     = "/media/transfer/shop-2.3.0.tar"
  registry   = airgap_registry.this.endpoint
  username   = airgap_registry.this.username
  password   = airgap_registry.this.password
  plain_http = true
}
