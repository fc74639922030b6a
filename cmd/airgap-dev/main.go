// Command airgap-dev holds the small jobs around the provider that need no Terraform:
//
//	airgap-dev keygen -out DIR [-name cosign]     write a cosign-format key pair (password: $COSIGN_PASSWORD)
//	airgap-dev samples -registry HOST [-size N]   push the deterministic sample images to a registry
//	airgap-dev sign -key KEY -out SIG [-pub PUB] FILE
//	                                             sign FILE as `cosign sign-blob --key KEY` does
//	airgap-dev bundle -name N -version V -out FILE -key KEY [-layout DIR -image REF]... [-file NAME=PATH]...
//	                                             build a signed bundle without Terraform (the system bundle)
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openairgap/terraform-provider-airgap/internal/sample"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "keygen":
		err = keygen(os.Args[2:])
	case "samples":
		err = samples(os.Args[2:])
	case "sign":
		err = sign(os.Args[2:])
	case "bundle":
		err = bundleCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "airgap-dev:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: airgap-dev keygen -out DIR [-name NAME] | samples -registry HOST [-size BYTES] | sign -key KEY -out SIG [-pub PUB] FILE | bundle -name N -version V -out FILE -key KEY [-layout DIR -image REF]... [-file NAME=PATH]...")
	os.Exit(2)
}

func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	out := fs.String("out", ".", "directory for NAME.key and NAME.pub")
	name := fs.String("name", "cosign", "file name stem")
	fs.Parse(args)
	priv, pub, err := signing.GenerateKeyPair([]byte(os.Getenv("COSIGN_PASSWORD")))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, *name+".key"), priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*out, *name+".pub"), pub, 0o644)
}

func samples(args []string) error {
	fs := flag.NewFlagSet("samples", flag.ExitOnError)
	host := fs.String("registry", "", "registry host:port to push to")
	size := fs.Int("size", 256<<10, "bytes of data per base layer")
	fs.Parse(args)
	if *host == "" {
		return fmt.Errorf("-registry is required")
	}
	images, err := sample.Set(*size)
	if err != nil {
		return err
	}
	refs, err := sample.Push(*host, images)
	for _, r := range refs {
		fmt.Println(r)
	}
	return err
}

// sign writes the base64 signature `cosign sign-blob` would, and optionally the public key, so
// that `cosign verify-blob --key PUB --signature SIG FILE` checks it.
func sign(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ExitOnError)
	keyPath := fs.String("key", "", "cosign private key (password from COSIGN_PASSWORD)")
	out := fs.String("out", "", "where to write the signature")
	pubOut := fs.String("pub", "", "where to write the public key (optional)")
	fs.Parse(args)
	if *keyPath == "" || *out == "" || fs.NArg() != 1 {
		return fmt.Errorf("sign needs -key, -out and one file")
	}
	keyPEM, err := os.ReadFile(*keyPath)
	if err != nil {
		return err
	}
	key, err := signing.LoadPrivateKey(keyPEM, []byte(os.Getenv("COSIGN_PASSWORD")))
	if err != nil {
		return err
	}
	blob, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	sig, err := signing.Sign(key, blob)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(sig.Sig+"\n"), 0o644); err != nil {
		return err
	}
	if *pubOut == "" {
		return nil
	}
	pub, err := signing.EncodePublicKey(key.Public())
	if err != nil {
		return err
	}
	return os.WriteFile(*pubOut, pub, 0o644)
}
