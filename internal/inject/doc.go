// Package inject builds the payload that the static injector (see /injector) reassembles from ConfigMap chunks and serves as a pull-only registry, so that a fresh air-gapped cluster can pull its first registry image.
package inject
