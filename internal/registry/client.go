package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// client speaks the distribution API to one target. go-containerregistry's transport does the
// ping and the Basic or Bearer token handshake; every request is ours, so that the engine decides
// what is sent, in what order, and how bytes are checked on the way.
type client struct {
	target Target
	base   string // scheme://host/v2/
	http   *http.Client
	owned  *http.Transport // the pooled transport we made, closed by close
}

// userAgent names the engine in registry logs.
const userAgent = "terraform-provider-airgap"

// pull, push and delete are the token scopes each verb asks for, per repository.
const (
	scopePull   = "pull"
	scopePush   = "pull,push"
	scopeDelete = "pull,push,delete"
)

func newClient(ctx context.Context, t Target, repos []string, actions string, jobs int) (*client, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	c := &client{target: t, base: t.scheme() + "://" + t.Host + "/v2/"}
	base := t.Transport
	if base == nil {
		c.owned = pooledTransport(jobs)
		base = c.owned
	}
	opts := []name.Option{name.StrictValidation}
	if t.PlainHTTP {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(t.Host, opts...)
	if err != nil {
		return nil, &FieldError{"Host", err}
	}
	auth := t.Auth
	if auth == nil {
		auth = authn.Anonymous
	}
	var scopes []string
	for _, r := range repos {
		scopes = append(scopes, "repository:"+r+":"+actions)
	}
	inner := transport.NewUserAgent(&guard{inner: base, plain: t.PlainHTTP}, userAgent)
	var rt http.RoundTripper
	for attempt := 1; ; attempt++ {
		rt, err = transport.NewWithContext(ctx, reg, auth, inner, scopes)
		if err == nil || attempt == pingAttempts || !unreachable(err) {
			break
		}
		// A registry that has just rolled onto a new pod can leave its NodePort aimed at the
		// old one for a moment: a connection then times out where the next one succeeds.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("registry %s: %w", t.Host, err)
	}
	c.http = &http.Client{Transport: rt}
	return c, nil
}

// pingAttempts is how many times the first contact with a registry is tried when it could not
// connect at all.
const pingAttempts = 3

// unreachable is a failure to connect, as opposed to an answer the registry gave.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// pooledTransport keeps a connection per request in flight alive between blobs; Go's default
// keeps two per host, which makes parallel uploads open and close connections all the time.
func pooledTransport(jobs int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(inFlight(jobs), 8)
	t.ResponseHeaderTimeout = 5 * time.Minute // a registry may hash a large blob before answering
	return t
}

func (c *client) close() {
	if c.owned != nil {
		c.owned.CloseIdleConnections()
	}
}

// guard refuses plain HTTP unless the target allows it and the request stays on this node,
// whoever makes the request: go-containerregistry's ping falls back to http for private
// addresses, and a token realm or an upload Location may name another host.
type guard struct {
	inner http.RoundTripper
	plain bool
}

func (g *guard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" && !(g.plain && r.URL.Scheme == "http" && isNodeLocal(r.URL.Host)) {
		if r.Body != nil {
			r.Body.Close()
		}
		if g.plain {
			return nil, fmt.Errorf("refusing %s://%s: plain HTTP is only allowed to a registry on this node", r.URL.Scheme, r.URL.Host)
		}
		return nil, fmt.Errorf("refusing %s://%s: the target does not allow plain HTTP (PlainHTTP is false)", r.URL.Scheme, r.URL.Host)
	}
	return g.inner.RoundTrip(r)
}

// manifestAccept lists every manifest type the engine handles, so that a registry answers with
// the stored bytes' own digest rather than a converted manifest.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

func (c *client) url(repo, kind, ref string) string { return c.base + repo + "/" + kind + "/" + ref }

// send makes a request and checks its status: anything but the wanted codes is an error carrying
// the registry's own error message.
func (c *client) send(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, want...); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

func newRequest(ctx context.Context, method, url string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, method, url, nil)
}
