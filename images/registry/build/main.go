// Command build compiles the registry for linux/amd64 and linux/arm64 and writes them as one
// OCI image index, openairgap/registry:VERSION, in an OCI image layout. Run it from the module:
//
//	go run ./build -out DIR [-version V] [-platform linux/amd64,linux/arm64]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/openairgap/terraform-provider-airgap/images/registry/internal/imagebuild"
)

func main() {
	out := flag.String("out", "", "OCI image layout directory to write (replaced)")
	version := flag.String("version", "dev", "version: linked into the binary and used as the tag")
	src := flag.String("src", ".", "the registry module's directory")
	platforms := flag.String("platform", strings.Join(imagebuild.Platforms, ","), "platforms, comma separated")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := imagebuild.Build(ctx, imagebuild.Options{
		Source: *src, Version: *version, Out: *out, Platforms: strings.Split(*platforms, ","),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s@%s\n", *out, res.RefName, res.Index)
	for _, img := range res.Images {
		fmt.Printf("  %-12s %s  binary %s, image %s\n", img.Platform, img.Digest, mib(img.BinarySize), mib(img.Size))
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n) }
