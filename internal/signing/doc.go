// Package signing signs and verifies bills of materials with cosign-compatible keys and decides,
// under a trust policy, which signers a bundle carries.
package signing
