package bundle

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openairgap/terraform-provider-airgap/internal/objstore"
	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
)

// Bundles in a real MinIO, read through the real S3 client: a BOM changed after signing, or a
// signer that is not trusted, is refused after reading the head alone; a flipped payload byte is
// caught by verification, which streams every byte without staging the object locally.
func TestBundlesFromObjectStorage(t *testing.T) {
	f := newFixture(t)
	vendor, stranger := newKeyPair(t, "vendor"), newKeyPair(t, "stranger")
	spec := f.spec("remote.tar")
	build(t, spec, vendor)
	data, err := os.ReadFile(spec.Output)
	must(t, err)
	head := headOf(t, spec.Output)

	srv := miniotest.Start(t)
	c, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey})
	must(t, err)
	upload := func(key string, b []byte) {
		p := filepath.Join(t.TempDir(), "b.tar")
		must(t, os.WriteFile(p, b, 0o644))
		_, err := c.Upload(context.Background(), "bundles", key, p)
		must(t, err)
	}
	upload("good.tar", data)
	bomTampered := append([]byte(nil), data...)
	at := regexp.MustCompile(`"sha256":\s*"`).FindIndex(data[:head.size])[1]
	bomTampered[at] = "01"[boolIndex(data[at] == '0')] // another hex digit: valid JSON, not the signed BOM
	upload("bom-tampered.tar", bomTampered)
	payloadTampered := append([]byte(nil), data...)
	payloadTampered[head.size+blockSize+10] ^= 1
	upload("payload-tampered.tar", payloadTampered)

	for _, c := range []struct {
		key     string
		trusted keyPair
		wantErr string
	}{
		{"bom-tampered.tar", vendor, "changed after signing"},
		{"good.tar", stranger, "not trusted"},
	} {
		s := newS3Store(t, srv)
		_, err := OpenFrom(s, c.key, policyOf(c.trusted))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Fatalf("%s: error %v, want %q", c.key, err, c.wantErr)
		}
		if got := s.Stats().Bytes(); got > head.size {
			t.Fatalf("%s: refused after reading %d bytes; the head is %d", c.key, got, head.size)
		}
	}
	s := newS3Store(t, srv)
	b, err := OpenFrom(s, "payload-tampered.tar", policyOf(vendor))
	must(t, err)
	defer b.Close()
	if err := b.VerifyPayload(context.Background()); err == nil || !strings.Contains(err.Error(), "does not match the signed BOM") {
		t.Fatalf("payload tampered in S3: %v", err)
	}
	good, err := OpenFrom(newS3Store(t, srv), "good.tar", policyOf(vendor))
	must(t, err)
	defer good.Close()
	must(t, good.VerifyPayload(context.Background()))
}

func newS3Store(t *testing.T, srv *miniotest.Server) *objstore.BucketStore {
	t.Helper()
	c, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey})
	must(t, err)
	return c.Store("bundles")
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
