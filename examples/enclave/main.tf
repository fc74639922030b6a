# Enclave side of the walkthrough: from a cluster that cannot pull a single image to the shop
# running from the in-cluster registry, every payload verified before it is used, and a signed
# receipt of each deployment. Run with the provider installed from the filesystem mirror.
terraform {
  required_providers {
    airgap = { source = "registry.terraform.io/openairgap/airgap" }
  }
}

variable "kubeconfig" {
  description = "Path of the cluster's kubeconfig; null inside the cluster (service account)."
  type        = string
  default     = null
}

variable "system_bundle" {
  description = "The system bundle: the registry's image and the injector."
  type        = string
}

variable "bundle" {
  description = "The application bundle delivered into the enclave."
  type        = string
}

variable "release_public_key" {
  description = "Path of the project's release key, which signs the system bundle."
  type        = string
}

variable "vendor_public_key" {
  description = "Path of the vendor's key, which signs the application bundle."
  type        = string
}

variable "operator_key" {
  description = "Path of the operator's cosign-format private key, which signs the receipts."
  type        = string
}

variable "operator_key_password" {
  type      = string
  sensitive = true
}

variable "operator" {
  description = "Who applies: recorded in every receipt."
  type        = string
}

variable "source_registry" {
  description = "The connected registry the bundle's images came from, as the chart names them."
  type        = string
}

variable "fix_permissions" {
  description = "The registry volume's provisioner ignores fsGroup (hostPath)."
  type        = bool
  default     = false
}

provider "airgap" {
  kubernetes = var.kubeconfig == null ? null : { kubeconfig = var.kubeconfig }
  trusted_keys = [
    { name = "release", public_key = file(var.release_public_key) },
    { name = "vendor", public_key = file(var.vendor_public_key) },
  ]
  receipts = {
    operator    = var.operator
    signing_key = { private_key = file(var.operator_key), password = var.operator_key_password }
  }
}

resource "airgap_injection" "seed" {
  system_bundle = var.system_bundle
}

resource "airgap_registry" "this" {
  system_bundle          = var.system_bundle
  injection              = airgap_injection.seed.id
  storage                = { volume = { size = "2Gi", fix_permissions = var.fix_permissions } }
  pull_secret_namespaces = ["shop"]
}

resource "airgap_image_mirror" "shop" {
  bundle     = var.bundle
  registry   = airgap_registry.this.endpoint
  username   = airgap_registry.this.username
  password   = airgap_registry.this.password
  plain_http = true
}

resource "airgap_manifest" "tools" {
  depends_on = [airgap_image_mirror.shop]
  name       = "tools"
  bundle     = var.bundle
  registry   = airgap_registry.this.endpoint
  namespace  = "shop"
}

resource "airgap_chart" "shop" {
  depends_on = [airgap_image_mirror.shop]
  name       = "shop"
  namespace  = "shop"
  bundle     = var.bundle
  registry   = airgap_registry.this.endpoint
  values     = yamlencode({ registry = var.source_registry, pullSecret = airgap_registry.this.pull_secret })
}

output "approval_evidence" {
  value = {
    system_bundle = { bom_digest = airgap_registry.this.bom_digest, signers = airgap_registry.this.signer_fingerprints, registry_image = airgap_registry.this.registry_image }
    bundle        = { bom_digest = airgap_chart.shop.bom_digest, signers = airgap_chart.shop.signer_fingerprints }
    chart         = { version = airgap_chart.shop.chart_version, manifest = airgap_chart.shop.manifest_digest, images = airgap_chart.shop.images }
    manifests     = { digest = airgap_manifest.tools.manifest_digest, objects = airgap_manifest.tools.objects, images = airgap_manifest.tools.images }
  }
}

output "receipts" {
  value = [airgap_chart.shop.receipt, airgap_manifest.tools.receipt]
}
