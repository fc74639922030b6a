package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// bundleCmd builds and signs a bundle from OCI image layouts and files, as the provider's
// airgap_bundle resource would, for the project's own build (the system bundle):
//
//	airgap-dev bundle -name N -version V -out FILE -key KEY [-layout DIR -image REF]... [-file NAME=PATH]...
//
// An -image takes the -layout before it (REF is its org.opencontainers.image.ref.name there); an
// -image with no -layout before it is pulled from its registry.
func bundleCmd(args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ExitOnError)
	spec := bundle.Spec{}
	fs.StringVar(&spec.Name, "name", "", "bundle name")
	fs.StringVar(&spec.Version, "version", "", "bundle version")
	fs.StringVar(&spec.Output, "out", "", "bundle file to write")
	keyPath := fs.String("key", "", "cosign private key that signs the BOM (password from COSIGN_PASSWORD)")
	created := fs.String("created", "", "creation time, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now)")
	images := &imageFlags{}
	fs.Func("layout", "OCI image layout holding the next -image", images.setLayout)
	fs.Func("image", "image to carry (repeatable)", images.add)
	fs.Func("file", "NAME=PATH: a file to carry as files/NAME (repeatable)", func(s string) error {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("-file %q: want NAME=PATH", s)
		}
		spec.Files = append(spec.Files, bundle.FileSpec{Name: name, Source: path})
		return nil
	})
	fs.Parse(args)
	if spec.Name == "" || spec.Version == "" || spec.Output == "" || *keyPath == "" || fs.NArg() > 0 {
		return errors.New("bundle needs -name, -version, -out and -key, and no other arguments")
	}
	if images.layout != "" {
		return fmt.Errorf("-layout %s is not followed by an -image", images.layout)
	}
	spec.Images = images.specs
	var err error
	if spec.Created, err = creationTime(*created); err != nil {
		return err
	}
	key, err := loadKey(*keyPath)
	if err != nil {
		return err
	}
	res, err := bundle.Build(context.Background(), spec, bundle.BuildOptions{Keys: []bundle.SigningKey{{Signer: key}}})
	if err != nil {
		return err
	}
	fmt.Printf("bundle %s\n  size %d bytes, sha256 %s\n  bom %s, signed by %s\n",
		spec.Output, res.Size, res.SHA256, res.BOMDigest, strings.Join(res.Signers, ", "))
	for _, img := range res.BOM.Images {
		fmt.Printf("  image %s %s\n", img.Ref, img.Digest)
	}
	for _, f := range res.BOM.Files {
		fmt.Printf("  file %s\n", f.Path)
	}
	return nil
}

// imageFlags pairs each -image with the -layout given just before it.
type imageFlags struct {
	layout string
	specs  []bundle.ImageSpec
}

func (f *imageFlags) setLayout(dir string) error {
	if f.layout != "" {
		return fmt.Errorf("-layout %s is not followed by an -image", f.layout)
	}
	f.layout = dir
	return nil
}

func (f *imageFlags) add(ref string) error {
	f.specs = append(f.specs, bundle.ImageSpec{Ref: ref, Layout: f.layout})
	f.layout = ""
	return nil
}

// creationTime is the flag's value, else SOURCE_DATE_EPOCH (reproducible builds), else now.
func creationTime(flagValue string) (time.Time, error) {
	if flagValue != "" {
		return time.Parse(time.RFC3339, flagValue)
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}

func loadKey(path string) (crypto.Signer, error) {
	keyPEM, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return signing.LoadPrivateKey(keyPEM, []byte(os.Getenv("COSIGN_PASSWORD")))
}
