package inject

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// multiPlatformIndex returns an index of two random images whose descriptors
// carry linux/amd64 and linux/arm64, as a real multi-platform image does.
func multiPlatformIndex(t *testing.T, layerBytes int64) v1.ImageIndex {
	t.Helper()
	src, err := random.Index(layerBytes, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	im, err := src.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for i, arch := range []string{"amd64", "arm64"} {
		img, err := src.Image(im.Manifests[i].Digest)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

func randomImage(t *testing.T, layerBytes, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(layerBytes, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr, data})
	}
}

func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestWritePayloadLayout(t *testing.T) {
	idx := multiPlatformIndex(t, 1024)
	img := randomImage(t, 512, 2)
	images := []PayloadImage{
		{Repository: "airgap/registry", Tag: "3", Index: idx},
		{Repository: "airgap/tools", Tag: "v1", Image: img},
		{Repository: "airgap/tools", Tag: "latest", Image: img}, // same blobs again
	}
	var buf bytes.Buffer
	digest, size, err := WritePayload(&buf, images)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if want := "sha256:" + hex.EncodeToString(sum[:]); digest != want || size != int64(buf.Len()) {
		t.Fatalf("got %s/%d, want %s/%d", digest, size, want, buf.Len())
	}
	entries := readTar(t, buf.Bytes())
	if entries[0].hdr.Name != indexName {
		t.Fatalf("first entry %q", entries[0].hdr.Name)
	}
	seen := map[string]bool{}
	for i, e := range entries {
		h := e.hdr
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 ||
			!h.ModTime.Equal(time.Unix(0, 0)) || h.Format != tar.FormatUSTAR {
			t.Errorf("entry %s: unexpected header %+v", h.Name, h)
		}
		if i > 1 && h.Name <= entries[i-1].hdr.Name {
			t.Errorf("entries out of order: %s after %s", h.Name, entries[i-1].hdr.Name)
		}
		if i > 0 {
			hexName := strings.TrimPrefix(h.Name, blobPrefix)
			s := sha256.Sum256(e.data)
			if hex.EncodeToString(s[:]) != hexName {
				t.Errorf("entry %s does not hold its digest's bytes", h.Name)
			}
			seen[hexName] = true
		}
	}
	// 1 index + 2 child manifests + 2 configs + 4 layers, then 1 manifest + 1 config + 2 layers.
	if len(seen) != 13 || len(entries) != 14 {
		t.Errorf("got %d entries (%d distinct blobs), want 14 (13)", len(entries), len(seen))
	}
	idxText := string(entries[0].data)
	for _, want := range []string{
		"manifest " + digestOf(t, idx).String() + " application/vnd.oci.image.index.v1+json\n",
		"tag airgap/registry:3 " + digestOf(t, idx).String() + "\n",
		"tag airgap/tools:latest " + digestOf(t, img).String() + "\n",
		"tag airgap/tools:v1 " + digestOf(t, img).String() + "\n",
	} {
		if !strings.Contains(idxText, want) {
			t.Errorf("index.txt lacks %q:\n%s", want, idxText)
		}
	}
	if n := strings.Count(idxText, "manifest "); n != 4 {
		t.Errorf("index.txt has %d manifest lines, want 4:\n%s", n, idxText)
	}
}

func TestWritePayloadDeterministic(t *testing.T) {
	images := []PayloadImage{
		{Repository: "b", Tag: "1", Image: randomImage(t, 256, 3)},
		{Repository: "a", Tag: "1", Index: multiPlatformIndex(t, 256)},
	}
	var first, second bytes.Buffer
	d1, _, err := WritePayload(&first, images)
	if err != nil {
		t.Fatal(err)
	}
	images[0], images[1] = images[1], images[0]
	d2, _, err := WritePayload(&second, images)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 || !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("payload depends on input order: %s vs %s", d1, d2)
	}
}

// alteredLayer keeps a layer's digest and size but serves altered bytes.
type alteredLayer struct {
	v1.Layer
	alter func([]byte) []byte
}

func (l alteredLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(l.alter(b))), nil
}

func imageWithAlteredLayer(t *testing.T, alter func([]byte) []byte) v1.Image {
	t.Helper()
	layers, err := randomImage(t, 64, 1).Layers()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, alteredLayer{layers[0], alter})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestWritePayloadErrors(t *testing.T) {
	img := randomImage(t, 64, 1)
	flipped := imageWithAlteredLayer(t, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
	longer := imageWithAlteredLayer(t, func(b []byte) []byte { return append(b, 0) })
	shorter := imageWithAlteredLayer(t, func(b []byte) []byte { return b[:len(b)-1] })
	tests := []struct {
		name   string
		images []PayloadImage
		want   string
	}{
		{"no images", nil, "at least one image"},
		{"uppercase repository", []PayloadImage{{Repository: "Airgap", Tag: "1", Image: img}}, "repository"},
		{"registry host", []PayloadImage{{Repository: "localhost:5000/a", Tag: "1", Image: img}}, "repository"},
		{"bad tag", []PayloadImage{{Repository: "a", Tag: ".1", Image: img}}, "tag"},
		{"neither", []PayloadImage{{Repository: "a", Tag: "1"}}, "exactly one"},
		{"both", []PayloadImage{{Repository: "a", Tag: "1", Image: img, Index: empty.Index}}, "exactly one"},
		{"duplicate tag", []PayloadImage{
			{Repository: "a", Tag: "1", Image: img},
			{Repository: "a", Tag: "1", Image: img},
		}, "listed twice"},
		{"layer bytes do not match digest", []PayloadImage{{Repository: "a", Tag: "1", Image: flipped}}, "content has digest"},
		{"layer longer than its size", []PayloadImage{{Repository: "a", Tag: "1", Image: longer}}, "longer than"},
		{"layer shorter than its size", []PayloadImage{{Repository: "a", Tag: "1", Image: shorter}}, "want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := WritePayload(io.Discard, tt.images)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
