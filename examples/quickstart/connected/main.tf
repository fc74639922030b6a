# Connected side: build one signed bundle of the sample images, a chart and a manifest.
terraform {
  required_providers {
    airgap = { source = "registry.terraform.io/openairgap/airgap" }
  }
}

variable "registry" {
  description = "The registry (host:port) holding the sample images."
  type        = string
}

variable "signing_key" {
  description = "Path of the cosign-format private key; its password is read from COSIGN_PASSWORD."
  type        = string
}

variable "output" {
  description = "Where to write the bundle."
  type        = string
}

provider "airgap" {}

resource "airgap_bundle" "demo" {
  name    = "quickstart"
  version = "1.0.0"
  output  = var.output
  created = "2026-11-01T00:00:00Z"

  images = [
    { ref = "${var.registry}/samples/app:1.0", platforms = ["linux/amd64", "linux/arm64"] },
    { ref = "${var.registry}/samples/sidecar:1.0", platforms = ["linux/amd64", "linux/arm64"] },
    { ref = "${var.registry}/samples/tool:1.0" },
  ]
  charts = [{
    path   = "${path.module}/../chart"
    values = yamlencode({ registry = var.registry })
  }]
  manifests = ["${path.module}/tool.yaml"]
  files     = { "README.txt" = "${path.module}/../README.txt" }

  signing_keys = [{ private_key = file(var.signing_key) }]
}

output "bundle" {
  value = {
    paths      = airgap_bundle.demo.paths
    sha256     = airgap_bundle.demo.sha256
    bom_digest = airgap_bundle.demo.bom_digest
    size       = airgap_bundle.demo.size
    signers    = airgap_bundle.demo.signer_fingerprints
  }
}
