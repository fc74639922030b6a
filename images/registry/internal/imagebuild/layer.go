package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// BinaryPath is where the registry sits in the image; it is the entrypoint.
	BinaryPath = "/registry"
	// DataDir is the default filesystem storage root, owned by the image's user so that the
	// registry runs without a volume (a volume is what keeps the data).
	DataDir = "/var/lib/registry"
	// UID is the non-root user and group the registry runs as (distroless' "nonroot").
	UID = 65532
)

// epoch is every timestamp in the image, as ko does, so that digests depend on content only.
var epoch = time.Unix(0, 0).UTC()

// binaryLayer packs the binary at BinaryPath (and an empty DataDir) into a gzip'ed layer. The tar
// and the gzip stream are written here, once, so the layer's bytes, and digest, are fixed.
func binaryLayer(binPath string) (v1.Layer, int64, error) {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, 0, err
	}
	tw := tar.NewWriter(zw)
	entries := []struct {
		hdr  tar.Header
		data []byte
	}{
		{tar.Header{Name: BinaryPath[1:], Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin},
		{tar.Header{Name: "var/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "var/lib/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: DataDir[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: UID, Gid: UID}, nil},
	}
	for _, e := range entries {
		e.hdr.ModTime, e.hdr.Format = epoch, tar.FormatUSTAR
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, 0, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	compressed := buf.Bytes()
	// Already compressed: tarball keeps these bytes as the layer and gunzips only for the DiffID.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
	return layer, int64(len(bin)), err
}
