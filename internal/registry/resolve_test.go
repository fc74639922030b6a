package registry

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openairgap/terraform-provider-airgap/internal/sample"
)

// resolverFixture: a local registry holding the mirrored sample bundle except tool's tag, and a
// fallback that needs a password and holds the samples (same digests) plus an image no BOM lists.
type resolverFixture struct {
	local, fallback string
	trusted         map[string]bool
	app, tool       string // digests
	untrusted       string
}

var fallbackAuth = &authn.Basic{Username: "airgap", Password: "s3cret"}

func newResolverFixture(t *testing.T, local target) resolverFixture {
	ctx := context.Background()
	b := openSample(t)
	_, err := Mirror(ctx, b, plainTarget(local.host, nil))
	must(t, err)
	_, err = testClient(t, local.host).deleteManifest(ctx, "samples/tool", "1.0")
	must(t, err)

	srv := httptest.NewServer(basicAuth(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	fallback := strings.TrimPrefix(srv.URL, "http://")
	_, err = sample.Push(fallback, sampleImages(t), remote.WithAuth(fallbackAuth))
	must(t, err)
	img, err := random.Image(1024, 1)
	must(t, err)
	ref, err := name.ParseReference(fallback + "/samples/other:1.0")
	must(t, err)
	must(t, remote.Write(ref, img, remote.WithAuth(fallbackAuth)))
	untrusted, err := img.Digest()
	must(t, err)
	return resolverFixture{
		local: local.host, fallback: fallback, trusted: TrustedDigests(b.BOM),
		app: b.BOM.Images[0].Digest, tool: b.BOM.Images[2].Digest, untrusted: untrusted.String(),
	}
}

// basicAuth makes a registry ask for a password, as a fallback outside the cluster would.
func basicAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != fallbackAuth.Username || p != fallbackAuth.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="fallback"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type logLine struct {
	msg    string
	fields map[string]any
}

type recorder struct {
	mu    sync.Mutex
	lines []logLine
}

func (r *recorder) log(msg string, fields map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, logLine{msg, fields})
}

func TestResolverLayers(t *testing.T) {
	forEachBackend(t, testResolverLayers)
}

func testResolverLayers(t *testing.T, local target) {
	f := newResolverFixture(t, local)
	c := newCounter()
	rec := &recorder{}
	r := &Resolver{
		Local:     plainTarget(f.local, c),
		Fallbacks: []Target{{Host: f.fallback, PlainHTTP: true, Auth: fallbackAuth, Transport: c}},
		Trusted:   f.trusted,
		Logger:    rec.log,
	}
	t.Cleanup(r.Close)
	ctx := context.Background()

	t.Run("local hit", func(t *testing.T) {
		c.reset()
		// The registry a reference names is never contacted: only its path is used.
		res, err := r.Resolve(ctx, "registry.example/samples/app:1.0")
		must(t, err)
		if res.Layer != "local" || res.Digest != f.app || res.Ref != f.local+"/samples/app@"+f.app {
			t.Fatalf("got %+v", res)
		}
		if c.hosts[f.fallback] != 0 || len(c.hosts) != 1 {
			t.Fatalf("a local hit contacted %v", c.hosts)
		}
	})
	t.Run("local hit by digest", func(t *testing.T) {
		res, err := r.Resolve(ctx, "registry.example/samples/app@"+f.app)
		must(t, err)
		if res.Layer != "local" || res.Digest != f.app {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("fallback hit with a BOM digest", func(t *testing.T) {
		res, err := r.Resolve(ctx, "registry.example/samples/tool:1.0")
		must(t, err)
		if res.Layer != "fallback:"+f.fallback || res.Digest != f.tool || res.Ref != f.fallback+"/samples/tool@"+f.tool {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("fallback refused without a BOM digest", func(t *testing.T) {
		_, err := r.Resolve(ctx, "registry.example/samples/other:1.0")
		if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), f.untrusted) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("expected the untrusted image refused, got %v", err)
		}
	})
	t.Run("fail closed when every layer misses", func(t *testing.T) {
		_, err := r.Resolve(ctx, "docker.io/library/nginx:1.25")
		if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "local") || !strings.Contains(err.Error(), "fallback:"+f.fallback) {
			t.Fatalf("expected a fail-closed error naming both layers, got %v", err)
		}
	})
	t.Run("every resolution is logged with its layer", func(t *testing.T) {
		layers := map[string]bool{}
		for _, l := range rec.lines {
			if l.msg == "image resolved" {
				layers[l.fields["layer"].(string)] = true
			}
		}
		if !layers["local"] || !layers["fallback:"+f.fallback] {
			t.Fatalf("logged %+v", rec.lines)
		}
	})
}

func TestResolverWithoutFallbacksOnlyAsksLocal(t *testing.T) {
	forEachBackend(t, testResolverWithoutFallbacks)
}

func testResolverWithoutFallbacks(t *testing.T, local target) {
	f := newResolverFixture(t, local)
	c := newCounter()
	r := &Resolver{Local: plainTarget(f.local, c), Trusted: f.trusted}
	t.Cleanup(r.Close)
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "registry.example/samples/app:1.0"); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"registry.example/samples/tool:1.0", "docker.io/library/nginx:1.25", "nginx:1.25"} {
		if _, err := r.Resolve(ctx, ref); !errors.Is(err, ErrUnresolved) {
			t.Fatalf("%s: expected to fail closed, got %v", ref, err)
		}
	}
	if len(c.hosts) != 1 || c.hosts[f.local] == 0 {
		t.Fatalf("with no fallbacks configured, the resolver contacted %v", c.hosts)
	}
}

func TestResolverFallbackNeedsItsCredentials(t *testing.T) {
	f := newResolverFixture(t, backends[0].start(t))
	r := &Resolver{
		Local:     plainTarget(f.local, nil),
		Fallbacks: []Target{{Host: f.fallback, PlainHTTP: true}}, // no password
		Trusted:   f.trusted,
	}
	t.Cleanup(r.Close)
	_, err := r.Resolve(context.Background(), "registry.example/samples/tool:1.0")
	if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "fallback:"+f.fallback) {
		t.Fatalf("expected to fail closed without the fallback's credentials, got %v", err)
	}
}

func TestResolverRefusesAMisconfiguredLayer(t *testing.T) {
	r := &Resolver{Local: Target{Host: "registry.example:5000", PlainHTTP: true}}
	_, err := r.Resolve(context.Background(), "registry.example/samples/app:1.0")
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "PlainHTTP" {
		t.Fatalf("expected a PlainHTTP field error, got %v", err)
	}
}
