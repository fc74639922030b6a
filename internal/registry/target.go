package registry

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Target is a registry that images are mirrored into, checked in, removed from or resolved
// through. Every image goes to its own repository under Host/Prefix: the image's repository path
// without its registry host, so docker.io/library/nginx becomes Host/Prefix/library/nginx.
type Target struct {
	// Host is the registry's host and port, such as 127.0.0.1:31999 or registry.example.
	Host string
	// Prefix is an optional repository path put in front of every image's path.
	Prefix string
	// Auth authenticates to the registry; nil is anonymous.
	Auth authn.Authenticator
	// Transport carries the requests; nil is a pooled transport sized for parallel uploads.
	Transport http.RoundTripper
	// PlainHTTP allows http:// instead of https://, and only when Host is a loopback address,
	// localhost, or an address of one of this node's interfaces: credentials and bytes never
	// cross a network in the clear.
	PlainHTTP bool
}

// FieldError is a fault in one field of a Target, so that the provider can put it on the
// attribute that holds it.
type FieldError struct {
	Field string // the Target field: Host, Prefix or PlainHTTP
	Err   error
}

func (e *FieldError) Error() string { return "registry target " + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// interfaceAddrs lists this node's addresses; tests replace it.
var interfaceAddrs = net.InterfaceAddrs

// validate checks the target before any request is made.
func (t Target) validate() error {
	if t.Host == "" {
		return &FieldError{"Host", fmt.Errorf("is empty: name the registry to use (there is no default registry)")}
	}
	if strings.ContainsAny(t.Host, "/@ ") {
		return &FieldError{"Host", fmt.Errorf("%q is not a registry host[:port]", t.Host)}
	}
	if _, err := name.NewRegistry(t.Host, name.StrictValidation); err != nil {
		return &FieldError{"Host", fmt.Errorf("%q: %w", t.Host, err)}
	}
	if t.Prefix != "" {
		if _, err := name.NewRepository(t.Host+"/"+t.Prefix+"/x", name.StrictValidation); err != nil || strings.HasSuffix(t.Prefix, "/") {
			return &FieldError{"Prefix", fmt.Errorf("%q is not a repository path (lowercase letters, digits, . _ - separated by /)", t.Prefix)}
		}
	}
	if t.PlainHTTP && !isNodeLocal(t.Host) {
		return &FieldError{"PlainHTTP", fmt.Errorf("is set, but %s is neither a loopback address nor an address of this node: plain HTTP is only allowed to a registry on this node; use https", t.Host)}
	}
	return nil
}

// scheme is https unless plain HTTP was asked for and validated.
func (t Target) scheme() string {
	if t.PlainHTTP {
		return "http"
	}
	return "https"
}

// repository maps an image's normalised name (registry host and path, as the BOM records it)
// to its repository under the target.
func (t Target) repository(imageName string) (string, error) {
	_, path, ok := strings.Cut(imageName, "/")
	if !ok || path == "" {
		return "", fmt.Errorf("image name %q has no repository path", imageName)
	}
	return t.repositoryPath(path)
}

// repositoryPath puts a repository path (without registry host) under the target's prefix.
func (t Target) repositoryPath(path string) (string, error) {
	if t.Prefix != "" {
		path = t.Prefix + "/" + path
	}
	if _, err := name.NewRepository(t.Host+"/"+path, name.StrictValidation); err != nil {
		return "", fmt.Errorf("repository %s/%s is not valid: %w", t.Host, path, err)
	}
	return path, nil
}

// isNodeLocal reports whether host (with or without a port) is loopback, localhost, or one of
// this node's own addresses. Names other than localhost are not resolved: DNS is not trusted to
// say where a registry is.
func isNodeLocal(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := interfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
