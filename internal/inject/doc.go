// Package inject bootstraps a fresh air-gapped cluster's first registry: it builds the payload that the static injector (see /injector) reassembles from ConfigMap chunks, and runs the injector in a pod on an image already on a node, behind a NodePort the kubelet pulls from on 127.0.0.1.
package inject
