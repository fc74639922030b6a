# Enclave side: verify the bundle against the trusted vendor key. The plan's outputs are what an
# approver reads: who signed it, the BOM digest, and every image with its digest per platform.
terraform {
  required_providers {
    airgap = { source = "registry.terraform.io/openairgap/airgap" }
  }
}

variable "bundle" {
  description = "Path of the bundle delivered into the enclave."
  type        = string
}

variable "vendor_public_key" {
  description = "Path of the vendor's public key (cosign.pub)."
  type        = string
}

provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file(var.vendor_public_key) }]
}

data "airgap_bundle" "delivered" {
  path           = var.bundle
  verify_payload = true
}

output "approval_evidence" {
  value = {
    bundle     = "${data.airgap_bundle.delivered.name} ${data.airgap_bundle.delivered.version}"
    bom_digest = data.airgap_bundle.delivered.bom_digest
    signers    = data.airgap_bundle.delivered.signers
    images     = { for i in data.airgap_bundle.delivered.images : i.ref => i.platforms }
    charts     = [for c in data.airgap_bundle.delivered.charts : "${c.name} ${c.version}"]
    sbom       = data.airgap_bundle.delivered.sbom_digest
  }
}
