// Package imagebuild compiles the registry and packs it into a reproducible OCI image index for
// linux/amd64 and linux/arm64, the way ko does: one layer holding a static binary, no base image,
// no Dockerfile, no daemon.
package imagebuild
