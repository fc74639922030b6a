// Package registry mirrors a verified bundle's images into an OCI registry straight from the
// bundle file, checks and removes what it mirrored, and resolves images through the layered
// registry resolver (local, then opt-in fallbacks whose images must match a verified BOM, then
// fail closed).
package registry
