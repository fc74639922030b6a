package inject

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestInjectorServesPayload(t *testing.T) {
	bin := hostInjector(t)
	p := newTestPayload(t)
	srv := startInjector(t, bin, "--sha256", p.digest, "--chunks", p.dir)
	reg := srv.addr

	t.Run("index by tag and by digest, every platform", func(t *testing.T) {
		want := digestOf(t, p.index)
		for _, ref := range []string{reg + "/airgap/registry:3", reg + "/airgap/registry@" + want.String()} {
			got, err := remote.Index(mustRef(t, ref))
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if d := digestOf(t, got); d != want {
				t.Fatalf("%s: digest %s, want %s", ref, d, want)
			}
		}
		im, err := p.index.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, desc := range im.Manifests {
			wantImg, err := p.index.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			ref := mustRef(t, reg+"/airgap/registry@"+desc.Digest.String())
			gotImg, err := remote.Image(ref)
			if err != nil {
				t.Fatalf("%s (%s): %v", ref, desc.Platform, err)
			}
			compareImages(t, wantImg, gotImg)
		}
	})

	t.Run("plain image by tag and by digest", func(t *testing.T) {
		want := digestOf(t, p.image)
		for _, ref := range []string{reg + "/airgap/tools:v1", reg + "/airgap/tools@" + want.String()} {
			got, err := remote.Image(mustRef(t, ref))
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			compareImages(t, p.image, got)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		desc, err := remote.Head(mustRef(t, reg+"/airgap/registry:3"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := p.index.RawManifest()
		if desc.Digest != digestOf(t, p.index) || desc.Size != int64(len(raw)) || desc.MediaType != "application/vnd.oci.image.index.v1+json" {
			t.Errorf("HEAD manifest: got %+v", desc)
		}
		layers, _ := p.image.Layers()
		d, _ := layers[0].Digest()
		size, _ := layers[0].Size()
		resp := request(t, http.MethodHead, "http://"+reg+"/v2/airgap/tools/blobs/"+d.String())
		if resp.StatusCode != 200 || resp.ContentLength != size || resp.Header.Get("Docker-Content-Digest") != d.String() || len(resp.body) != 0 {
			t.Errorf("HEAD blob: got %d, length %d, digest %q, %d body bytes", resp.StatusCode, resp.ContentLength, resp.Header.Get("Docker-Content-Digest"), len(resp.body))
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := remote.Image(mustRef(t, reg+"/airgap/tools:nope"))
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != 404 || len(terr.Errors) == 0 || terr.Errors[0].Code != transport.ManifestUnknownErrorCode {
			t.Errorf("unknown tag: got %v", err)
		}
		for _, tc := range []struct{ method, path, want string }{
			{http.MethodGet, "/v2/nope/manifests/1", `"NAME_UNKNOWN"`},
			{http.MethodGet, "/v2/airgap/tools/blobs/sha256:" + strings.Repeat("0", 64), `"BLOB_UNKNOWN"`},
			{http.MethodGet, "/v2/airgap/tools/manifests/sha256:" + strings.Repeat("0", 64), `"MANIFEST_UNKNOWN"`},
			{http.MethodGet, "/v2/_catalog", `"NAME_UNKNOWN"`},
			{http.MethodPost, "/v2/airgap/tools/blobs/uploads/", `"UNSUPPORTED"`},
		} {
			resp := request(t, tc.method, "http://"+reg+tc.path)
			wantStatus := 404
			if tc.method != http.MethodGet {
				wantStatus = 405
			}
			if resp.StatusCode != wantStatus || !strings.Contains(string(resp.body), tc.want) {
				t.Errorf("%s %s: got %d %s", tc.method, tc.path, resp.StatusCode, resp.body)
			}
		}
	})

	t.Run("base endpoint", func(t *testing.T) {
		resp := request(t, http.MethodGet, "http://"+reg+"/v2/")
		if resp.StatusCode != 200 || string(resp.body) != "{}" || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
			t.Errorf("GET /v2/: got %d %q %v", resp.StatusCode, resp.body, resp.Header)
		}
	})

	t.Run("a TLS handshake fails at once", func(t *testing.T) {
		// Clients that try HTTPS first must not wait for a timeout to fall back.
		start := time.Now()
		conn, err := tls.Dial("tcp", reg, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the handshake must fail; nothing is trusted
		if err == nil {
			conn.Close()
			t.Fatal("TLS handshake succeeded")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("TLS handshake failed after %s", d)
		}
	})

	t.Run("a stalled client does not block a pull", func(t *testing.T) {
		conn, err := net.Dial("tcp", reg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /v2/ HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := remote.Image(mustRef(t, reg+"/airgap/tools:v1")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("pull took %s next to a stalled client", d)
		}
	})

	if log := srv.logText(); !strings.Contains(log, "GET /v2/ 200 2\n") || !strings.Contains(log, "HEAD /v2/airgap/registry/manifests/3 200 0\n") {
		t.Errorf("request log lacks expected lines:\n%s", log)
	}
}

func TestInjectorRefusesBadPayload(t *testing.T) {
	bin := hostInjector(t)
	p := newTestPayload(t)
	otherDigest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		sha    string
		want   []string
	}{
		{"tampered chunk", flipByte("chunk-00001"), p.digest,
			[]string{"sha256 mismatch", "expected " + p.digest, "chunks", "bytes read"}},
		{"missing chunk", removeFile("chunk-00001"), p.digest,
			[]string{"chunk-00001 is missing"}},
		{"wrong --sha256", nil, otherDigest,
			[]string{"sha256 mismatch", "expected " + otherDigest, "actual " + p.digest}},
		{"not a tar, right digest", replaceWith("not a tar archive"), "sha256:" + sha256Hex("not a tar archive"),
			[]string{"tar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, p.dir)
			if tt.damage != nil {
				tt.damage(t, dir)
			}
			port := freePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bin, "--sha256", tt.sha, "--chunks", dir, "--listen", "127.0.0.1:"+port)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Fatalf("got %v, want exit status 1; stderr:\n%s", err, stderr.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("injector listened:\n%s", stdout.String())
			}
			if conn, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				conn.Close()
				t.Errorf("something listens on %s", port)
			}
		})
	}
}

// TestInjectorArm64UnderQemu runs the arm64 build through qemu-user, when
// the cross toolchain and qemu are installed (optional: injector/deps.sh).
func TestInjectorArm64UnderQemu(t *testing.T) {
	if testing.Short() || runtime.GOARCH != "amd64" {
		t.Skip("needs an amd64 host and no -short")
	}
	for _, tool := range []string{"make", "aarch64-linux-gnu-gcc", "qemu-aarch64-static"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (optional, see injector/deps.sh)", tool)
		}
	}
	bin := buildInjector(t, "arm64", nil, "arm64")
	p := newTestPayload(t)
	srv := startInjector(t, "qemu-aarch64-static", bin, "--sha256", p.digest, "--chunks", p.dir)
	got, err := remote.Index(mustRef(t, srv.addr+"/airgap/registry:3"))
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, p.index) {
		t.Fatal("arm64 injector served a different index")
	}
	img, err := remote.Image(mustRef(t, srv.addr+"/airgap/tools:v1"))
	if err != nil {
		t.Fatal(err)
	}
	compareImages(t, p.image, img)
}
