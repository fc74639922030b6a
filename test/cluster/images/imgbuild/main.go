// Command imgbuild packs one static binary into a one-layer image for the node's architecture and
// writes it as a docker archive for `ctr images import`. The binary goes to /<name> and is the
// image's entrypoint; -cmd gives the default arguments. Nothing is pulled or pushed.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	bin := flag.String("bin", "", "static binary to put at /<its name>")
	tag := flag.String("tag", "", "image reference recorded in the archive (what ctr imports it as)")
	out := flag.String("tar", "", "docker archive to write")
	cmd := flag.String("cmd", "", "default arguments, space separated")
	arch := flag.String("arch", runtime.GOARCH, "image architecture (the binary's)")
	flag.Parse()
	if *bin == "" || *tag == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	img, err := build(*bin, *arch, strings.Fields(*cmd))
	if err != nil {
		log.Fatal(err)
	}
	ref, err := name.ParseReference(*tag)
	if err != nil {
		log.Fatal(err)
	}
	if err := tarball.WriteToFile(*out, ref, img); err != nil {
		log.Fatal(err)
	}
	d, _ := img.Digest()
	log.Printf("wrote %s: %s@%s", *out, ref, d)
}

// build returns the image. Timestamps stay zero so that the same binary gives the same digest.
func build(bin, arch string, cmd []string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(bin)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: base, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config = v1.Config{Entrypoint: []string{"/" + base}, Cmd: cmd}
	return mutate.ConfigFile(img, cf)
}
