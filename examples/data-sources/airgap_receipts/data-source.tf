# Enclave side: the operator signs a receipt of every apply that changes workloads.
provider "airgap" {
  trusted_keys = [{ name = "vendor", public_key = file("keys/vendor.pub") }]
  receipts = {
    operator    = "alice@example.org"
    signing_key = { private_key = file("keys/operator.key") } # password from COSIGN_PASSWORD
    directory   = "/media/audit/receipts"
  }
}

# An auditor reads the history back and checks it against the operator's public key, and
# against the newest receipt seen last time, so deleted receipts show too.
variable "known_head" {
  type    = string
  default = null
}

data "airgap_receipts" "audit" {
  trusted_keys = [{ name = "operator", public_key = file("keys/operator.pub") }]
  known_head   = var.known_head
}

output "audit" {
  value = {
    verified = data.airgap_receipts.audit.verified
    head     = data.airgap_receipts.audit.head
    problems = concat(data.airgap_receipts.audit.problems, flatten(data.airgap_receipts.audit.receipts[*].problems))
    history = [
      for r in data.airgap_receipts.audit.receipts :
      "${r.sequence} ${r.time} ${r.action} ${r.resource} by ${r.operator}: ${r.signature} ${r.signer}"
    ]
  }
}
