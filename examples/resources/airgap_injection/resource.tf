# A fresh cluster that cannot pull a single image: serve the registry's image from ConfigMaps.
# The system bundle is verified (signature, then every byte) before anything is created.
resource "airgap_injection" "seed" {
  system_bundle = "/media/transfer/airgap-system-0.1.0.tar"
}

output "seed_image" {
  # Known at plan time: what the injector will serve, pinned by digest.
  value = airgap_injection.seed.registry_image
}
