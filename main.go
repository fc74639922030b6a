// Command terraform-provider-airgap serves the airgap provider to Terraform and OpenTofu.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/openairgap/terraform-provider-airgap/internal/provider"
)

// Address is the provider's source address. The full registry.terraform.io form serves both
// terraform and tofu from one filesystem mirror and one lock file.
const Address = "registry.terraform.io/openairgap/airgap"

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

//go:generate sh -c "cd tools && go tool tfplugindocs generate --provider-dir .. --provider-name airgap"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers like delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: Address,
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
