package objstore

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// DefaultRegion signs requests when Config.Region is empty. Naming a region keeps minio-go from
// asking the store for a bucket's location, so presigning makes no request at all.
const DefaultRegion = "us-east-1"

// Config says where the object store is and how to sign for it. Endpoints are host:port, or
// http://host:port / https://host:port when one endpoint's scheme differs from Secure.
type Config struct {
	// Endpoint serves data (uploads, ranged reads): usually the discovered in-cluster address.
	Endpoint string
	// PresignEndpoint is the externally reachable address that presigned links point at.
	// Empty means Endpoint.
	PresignEndpoint      string
	AccessKey, SecretKey string
	Secure               bool
	Region               string
	// CA is a PEM bundle trusted in addition to the system roots, for HTTPS endpoints.
	CA []byte

	// maxRetries overrides minio-go's 10 attempts per request; tests set 1 to see raw failures.
	maxRetries int
	// keepAlive reuses idle connections: the broken configuration the idle-connection test
	// needs as its control.
	keepAlive bool
}

// Client talks to one object store through two minio clients: data goes to the internal
// endpoint, and links are signed for the external one (a link signed for a ClusterIP is of no
// use outside the cluster, and the host is part of the signature).
type Client struct {
	data    *minio.Client
	core    minio.Core // the same client, with the multipart calls resumable uploads need
	presign *minio.Client
	region  string
	tune    tuning
}

// New builds the two clients. No request is sent.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.Endpoint) == "" {
		return nil, errors.New("object store: no endpoint: set one explicitly or discover it; there is no default")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("object store: the access key and the secret key are both required")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	presignAt := cfg.PresignEndpoint
	if strings.TrimSpace(presignAt) == "" {
		presignAt = cfg.Endpoint
	}
	if len(cfg.CA) > 0 && !usesTLS(cfg.Endpoint, cfg.Secure) && !usesTLS(presignAt, cfg.Secure) {
		return nil, errors.New("object store: a CA bundle is set but no endpoint uses TLS (set Secure, or https://)")
	}
	data, err := newMinio(cfg, cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("object store endpoint %q: %w", cfg.Endpoint, err)
	}
	presign, err := newMinio(cfg, presignAt)
	if err != nil {
		return nil, fmt.Errorf("object store presign endpoint %q: %w", presignAt, err)
	}
	return &Client{data: data, core: minio.Core{Client: data}, presign: presign, region: cfg.Region, tune: defaultTuning()}, nil
}

func newMinio(cfg Config, endpoint string) (*minio.Client, error) {
	host, secure, err := splitEndpoint(endpoint, cfg.Secure)
	if err != nil {
		return nil, err
	}
	tr, err := transport(cfg, secure)
	if err != nil {
		return nil, err
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath, // in-cluster stores have no wildcard DNS for buckets
		Transport:    tr,
		MaxRetries:   cfg.maxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("building the client: %w", err)
	}
	return c, nil
}

// splitEndpoint accepts host:port or a URL with no path, and says whether to use TLS.
func splitEndpoint(endpoint string, secure bool) (string, bool, error) {
	endpoint = strings.TrimSpace(endpoint)
	if !strings.Contains(endpoint, "://") {
		if strings.ContainsAny(endpoint, "/?#") {
			return "", false, errors.New("expected host:port, found a path")
		}
		return endpoint, secure, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("not a URL: %w", err)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return "", false, errors.New("an endpoint is a scheme, a host and a port: no path, query or credentials")
	}
	switch u.Scheme {
	case "http":
		if secure {
			return "", false, errors.New("the scheme is http but Secure (TLS) is set")
		}
		return u.Host, false, nil
	case "https":
		return u.Host, true, nil
	}
	return "", false, fmt.Errorf("scheme %q: expected http or https", u.Scheme)
}

func usesTLS(endpoint string, secure bool) bool {
	_, tls, err := splitEndpoint(endpoint, secure)
	return err == nil && tls
}

// transport disables keep-alives. Backends of the RustFS class close idle connections early to
// bound their resources; a client that reuses such a connection writes the next part of a
// multipart upload into a socket the server has already given up on and gets "broken pipe" or
// "connection reset", and a PUT is not replayed by net/http. A short idle timeout only narrows
// that race, because the server's limit is unknown and may be shorter than ours; one connection
// per request removes it. The cost is a TCP (and TLS) handshake per request, small next to the
// 16 MiB parts and the 1 MiB ranged reads this package sends.
//
// No proxy either: the store is a cluster-local peer, and a proxy configured in the environment
// for the machine's egress must not capture its traffic.
func transport(cfg Config, secure bool) (*http.Transport, error) {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
		DisableKeepAlives:     !cfg.keepAlive,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: 2 * time.Minute,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 10 * time.Second,
		// Objects are bytes to be hashed: never let net/http gunzip a body behind our back.
		DisableCompression: true,
	}
	if secure {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if len(cfg.CA) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(cfg.CA) {
				return nil, errors.New("the CA bundle holds no PEM certificate")
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	return tr, nil
}
