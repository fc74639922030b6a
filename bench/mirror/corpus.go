package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
)

// corpus is an OCI image layout of incompressible images, generated once and kept in the cache.
type corpus struct {
	dir  string
	refs []string // bench.invalid/imgNN:1, the layout's ref.name annotations
}

// The shape: every image has one layer shared by all (so mounts happen) and two layers of its
// own per platform; every third image is a two-platform index.
const layersPerPlatform = 2

func platformsOf(i int) []string {
	if i%3 == 0 {
		return []string{"amd64", "arm64"}
	}
	return []string{"amd64"}
}

// makeCorpus writes the layout unless a complete one is there: layers are gzip'ed tars (stored,
// not compressed: the data is random) whose sizes add up to total unique bytes.
func makeCorpus(dir string, total int64, images int) (*corpus, error) {
	c := &corpus{dir: dir}
	for i := 0; i < images; i++ {
		c.refs = append(c.refs, fmt.Sprintf("bench.invalid/img%02d:1", i))
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return c, nil
	}
	fmt.Fprintf(os.Stderr, "generating the corpus in %s (once)...\n", dir)
	os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	unique := 1
	for i := 0; i < images; i++ {
		unique += len(platformsOf(i)) * layersPerPlatform
	}
	per := total/int64(unique) + 1
	rng := rand.NewChaCha8([32]byte{'a', 'i', 'r', 'g', 'a', 'p'})
	shared, err := writeLayer(dir, rng, per, "shared")
	if err != nil {
		return nil, err
	}
	var index []descriptor
	for i := 0; i < images; i++ {
		var children []descriptor
		for _, arch := range platformsOf(i) {
			layers := []layer{shared}
			for l := 0; l < layersPerPlatform; l++ {
				ly, err := writeLayer(dir, rng, per, fmt.Sprintf("img%02d-%s-%d", i, arch, l))
				if err != nil {
					return nil, err
				}
				layers = append(layers, ly)
			}
			m, err := writeImage(dir, arch, layers)
			if err != nil {
				return nil, err
			}
			m.Platform = &platform{OS: "linux", Architecture: arch}
			children = append(children, m)
		}
		top := children[0]
		if len(children) > 1 {
			raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociIndex, "manifests": children})
			if top, err = writeBlob(dir, raw, ociIndex); err != nil {
				return nil, err
			}
		}
		top.Platform = nil
		top.Annotations = map[string]string{"org.opencontainers.image.ref.name": c.refs[i]}
		index = append(index, top)
	}
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociIndex, "manifests": index})
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return nil, err
	}
	return c, os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644)
}

const (
	ociIndex    = "application/vnd.oci.image.index.v1+json"
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
	ociLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type layer struct {
	descriptor
	diffID string
}

// writeLayer streams a tar of one random file through gzip into the layout, hashing the tar
// (the config's diff_id) and the gzip'ed bytes (the blob's digest) on the way.
func writeLayer(dir string, rng *rand.ChaCha8, size int64, name string) (layer, error) {
	f, err := os.CreateTemp(filepath.Join(dir, "blobs", "sha256"), ".layer-*")
	if err != nil {
		return layer{}, err
	}
	defer os.Remove(f.Name())
	blobHash, tarHash := sha256.New(), sha256.New()
	counted := &countingWriter{w: io.MultiWriter(f, blobHash)}
	gz, err := gzip.NewWriterLevel(counted, gzip.NoCompression)
	if err != nil {
		return layer{}, err
	}
	tw := tar.NewWriter(io.MultiWriter(gz, tarHash))
	if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return layer{}, err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		chunk := buf[:min(int64(len(buf)), left)]
		rng.Read(chunk)
		if _, err := tw.Write(chunk); err != nil {
			return layer{}, err
		}
		left -= int64(len(chunk))
	}
	if err := tw.Close(); err != nil {
		return layer{}, err
	}
	if err := gz.Close(); err != nil {
		return layer{}, err
	}
	if err := f.Close(); err != nil {
		return layer{}, err
	}
	d := hexOf(blobHash)
	if err := os.Rename(f.Name(), filepath.Join(dir, "blobs", "sha256", d)); err != nil {
		return layer{}, err
	}
	return layer{descriptor{MediaType: ociLayer, Digest: "sha256:" + d, Size: counted.n}, "sha256:" + hexOf(tarHash)}, nil
}

func writeImage(dir, arch string, layers []layer) (descriptor, error) {
	var diffIDs []string
	var descs []descriptor
	for _, l := range layers {
		diffIDs = append(diffIDs, l.diffID)
		descs = append(descs, l.descriptor)
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": arch, "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	c, err := writeBlob(dir, cfg, ociConfig)
	if err != nil {
		return descriptor{}, err
	}
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociManifest, "config": c, "layers": descs})
	return writeBlob(dir, raw, ociManifest)
}

func writeBlob(dir string, data []byte, mediaType string) (descriptor, error) {
	sum := sha256.Sum256(data)
	d := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", d), data, 0o644); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + d, Size: int64(len(data))}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func hexOf(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// benchKeys is a signing key pair kept next to the bundle, so the cached bundle opens on every
// run.
func benchKeys(dir string) (bundle.SigningKey, signing.Policy, error) {
	privPath, pubPath := filepath.Join(dir, "bench.key"), filepath.Join(dir, "bench.pub")
	if _, err := os.Stat(pubPath); err != nil {
		priv, pub, err := signing.GenerateKeyPair([]byte("bench"))
		if err != nil {
			return bundle.SigningKey{}, signing.Policy{}, err
		}
		if err := os.WriteFile(privPath, priv, 0o600); err != nil {
			return bundle.SigningKey{}, signing.Policy{}, err
		}
		if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
			return bundle.SigningKey{}, signing.Policy{}, err
		}
	}
	privPEM, err := os.ReadFile(privPath)
	if err != nil {
		return bundle.SigningKey{}, signing.Policy{}, err
	}
	pubPEM, err := os.ReadFile(pubPath)
	if err != nil {
		return bundle.SigningKey{}, signing.Policy{}, err
	}
	priv, err := signing.LoadPrivateKey(privPEM, []byte("bench"))
	if err != nil {
		return bundle.SigningKey{}, signing.Policy{}, err
	}
	pub, err := signing.ParsePublicKey(pubPEM)
	if err != nil {
		return bundle.SigningKey{}, signing.Policy{}, err
	}
	return bundle.SigningKey{Signer: priv}, signing.Policy{Keys: []signing.TrustedKey{{Name: "bench", Key: pub}}}, nil
}

// buildBundle builds the bundle of the corpus unless it is there.
func buildBundle(c *corpus, out string, key bundle.SigningKey) error {
	if _, err := os.Stat(out); err == nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "building the bundle %s (once)...\n", out)
	spec := bundle.Spec{Name: "bench", Version: "1", Created: time.Unix(1700000000, 0), Output: out}
	for _, r := range c.refs {
		spec.Images = append(spec.Images, bundle.ImageSpec{Ref: r, Layout: c.dir})
	}
	_, err := bundle.Build(context.Background(), spec, bundle.BuildOptions{Keys: []bundle.SigningKey{key}})
	return err
}

// extractLayout writes the bundle's OCI layout out once, for the peers that read a layout.
func extractLayout(b *bundle.Bundle, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return nil
	}
	os.RemoveAll(dir + ".tmp")
	for _, e := range b.BOM.Entries {
		rel, ok := strings.CutPrefix(e.Path, bundle.LayoutDir+"/")
		if !ok {
			continue
		}
		if err := extractEntry(b, e.Path, filepath.Join(dir+".tmp", rel)); err != nil {
			return err
		}
	}
	return os.Rename(dir+".tmp", dir)
}

func extractEntry(b *bundle.Bundle, path, out string) error {
	r, _, err := b.OpenEntry(path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
