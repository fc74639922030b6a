# Enclave side: trust the vendor's key until it expires, and require the customer's co-sign.
provider "airgap" {
  trusted_keys = [
    { name = "vendor", public_key = file("keys/vendor.pub"), not_after = "2027-06-30T00:00:00Z" },
    { name = "customer", public_key = file("keys/customer.pub") },
  ]
  required_signers = ["vendor", "customer"]
}
