# Connected side of the walkthrough: one signed bundle of the shop's images, its chart and its
# manifests. Run with the provider from the same filesystem mirror the enclave uses.
terraform {
  required_providers {
    airgap = { source = "registry.terraform.io/openairgap/airgap" }
  }
}

variable "registry" {
  description = "The connected registry (host:port) holding shop/web, shop/worker and shop/tool."
  type        = string
}

variable "manifests" {
  description = "Files of plain Kubernetes manifests to carry."
  type        = list(string)
}

variable "signing_key" {
  description = "Path of the vendor's cosign-format private key; its password is read from COSIGN_PASSWORD."
  type        = string
}

variable "output" {
  description = "Where to write the bundle."
  type        = string
}

provider "airgap" {}

resource "airgap_bundle" "shop" {
  name    = "shop"
  version = "1.0.0"
  output  = var.output
  created = "2026-11-01T00:00:00Z"

  images = [for c in ["web", "worker", "tool"] : { ref = "${var.registry}/shop/${c}:1.0" }]
  charts = [{
    path   = "${path.module}/../chart"
    values = yamlencode({ registry = var.registry })
  }]
  manifests    = var.manifests
  signing_keys = [{ private_key = file(var.signing_key) }]
}

output "bundle" {
  value = {
    path       = airgap_bundle.shop.paths[0]
    bom_digest = airgap_bundle.shop.bom_digest
    signers    = airgap_bundle.shop.signer_fingerprints
  }
}
