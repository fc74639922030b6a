// Package archtest holds the test that keeps imports flowing one way: provider, then engines,
// then clients, and the Terraform plugin framework only in the provider.
package archtest
