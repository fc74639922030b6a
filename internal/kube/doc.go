// Package kube builds Kubernetes clients: from the in-cluster service account by default, from a
// kubeconfig file and context only when configured.
package kube
