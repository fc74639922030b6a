// Package sample makes small, deterministic OCI images (multi-platform indexes with shared
// layers) for the demo and the tests, so that bundles built from them are reproducible.
package sample
