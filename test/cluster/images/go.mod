// The test cluster's node images: the sandbox (pause) program, the toolbox program, and the
// builder that packs them into image archives. A module of its own so that neither the provider's
// module nor the Kubernetes wrapper module picks up its dependencies.
module github.com/openairgap/terraform-provider-airgap/test/cluster/images

go 1.26

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)
