// Package objstore reads and writes bundles in S3-compatible object storage (MinIO, RustFS,
// SeaweedFS) and finds the store's endpoint through the Kubernetes API.
package objstore
