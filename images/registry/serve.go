package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/health"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
	"github.com/sirupsen/logrus"
)

// drainTimeout stays under Kubernetes' default 30 s termination grace period.
const drainTimeout = 25 * time.Second

// serve runs the registry until ctx is done, then drains open requests.
func serve(ctx context.Context, s settings) error {
	if s.httpSecret == "" {
		// Upstream would do the same but name its own REGISTRY_HTTP_SECRET in the warning.
		s.httpSecret = rand.Text()
		logrus.Warnf("registry: no %sHTTP_SECRET: using a random one; replicas behind one Service must share a secret", envPrefix)
	}
	if s.storage == "filesystem" {
		if err := checkWritable(s.root); err != nil {
			return err
		}
	}
	app, err := newApp(ctx, s.configuration())
	if err != nil {
		return err
	}
	defer app.Shutdown()
	app.RegisterHealthChecks()

	mux := http.NewServeMux()
	// /healthz answers without authentication: 200, or 503 with the failing checks (storage).
	mux.HandleFunc("/healthz", health.StatusHandler)
	mux.Handle("/", health.Handler(app))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if s.tlsCert != "" {
		scheme = "https"
	}
	logrus.Infof("registry %s: listening on %s://%s, storage %s, authentication %s",
		version, scheme, ln.Addr(), s.storage, map[bool]string{true: "htpasswd", false: "none"}[s.htpasswd != ""])

	done := make(chan error, 1)
	go func() {
		if s.tlsCert != "" {
			done <- srv.ServeTLS(ln, s.tlsCert, s.tlsKey)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logrus.Infof("registry: stopping, draining requests for up to %s", drainTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newApp builds Distribution's handler, which panics on a bad configuration (a storage driver
// that cannot start, an unreadable htpasswd file): that becomes an error here.
func newApp(ctx context.Context, c *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting the registry: %v", r)
		}
	}()
	return handlers.NewApp(ctx, c), nil
}
