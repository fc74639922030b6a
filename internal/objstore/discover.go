package objstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// DefaultDiscoveryTTL is how long a discovered endpoint is trusted when Discoverer.TTL is zero.
const DefaultDiscoveryTTL = 45 * time.Second

// Backoff bounds the retries of one Endpoint call: Attempts lookups, waiting Initial after the
// first miss and doubling up to Max. Zero fields take the defaults (5 attempts, 200ms, 5s).
type Backoff struct {
	Initial, Max time.Duration
	Attempts     int
}

// Discoverer finds the object store's in-cluster endpoint: the override variable when it is set,
// else the ClusterIP of a Service and the port its spec names PortName, read through the
// Kubernetes API (not DNS, which an air-gapped cluster may not resolve). The answer is cached for
// TTL; call Invalidate after a connection error so that the next call asks again.
//
// A Discoverer is safe for concurrent use; concurrent misses share one lookup.
type Discoverer struct {
	Namespace, Service, PortName string
	// EnvOverride names an environment variable (for example AIRGAP_S3_ENDPOINT) whose value, when
	// set, is the endpoint, used as is and ahead of discovery: for port-forwards and incidents.
	EnvOverride string
	TTL         time.Duration
	Kube        kubernetes.Interface
	Backoff     Backoff

	// Now and LookupEnv default to time.Now and os.LookupEnv.
	Now       func() time.Time
	LookupEnv func(string) (string, bool)

	once    sync.Once
	turn    chan struct{} // one lookup at a time, waited for with a context
	mu      sync.Mutex
	cached  string
	expires time.Time
	status  string
}

// Endpoint returns host:port of the object store.
func (d *Discoverer) Endpoint(ctx context.Context) (string, error) {
	if v, ok := d.override(); ok {
		d.setStatus("ok")
		return v, nil
	}
	if ep, ok := d.fresh(); ok {
		return ep, nil
	}
	d.once.Do(func() { d.turn = make(chan struct{}, 1) })
	select {
	case d.turn <- struct{}{}:
		defer func() { <-d.turn }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if ep, ok := d.fresh(); ok { // found by the caller we waited for
		return ep, nil
	}
	return d.discover(ctx)
}

// Status is "ok" once an endpoint was found (or the override is set), and "degraded: <reason>"
// before that and after a failed lookup, for a health check to publish.
func (d *Discoverer) Status() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.status == "" {
		return "degraded: the object store endpoint has not been discovered yet"
	}
	return d.status
}

// Invalidate forgets the cached endpoint.
func (d *Discoverer) Invalidate() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cached, d.expires = "", time.Time{}
}

// ConnectionError reports whether err is a failure to reach the endpoint (refused, reset,
// unreachable, timed out) rather than an answer from it: the case for Invalidate.
func ConnectionError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

func (d *Discoverer) override() (string, bool) {
	if d.EnvOverride == "" {
		return "", false
	}
	lookup := d.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(d.EnvOverride)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (d *Discoverer) fresh() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cached, d.cached != "" && d.now().Before(d.expires)
}

func (d *Discoverer) discover(ctx context.Context) (string, error) {
	if err := d.validate(); err != nil {
		d.setStatus("degraded: " + err.Error())
		return "", err
	}
	b := d.Backoff.withDefaults()
	wait := b.Initial
	for attempt := 1; ; attempt++ {
		ep, err := d.lookup(ctx)
		if err == nil {
			d.mu.Lock()
			d.cached, d.expires, d.status = ep, d.now().Add(d.ttl()), "ok"
			d.mu.Unlock()
			return ep, nil
		}
		d.setStatus("degraded: " + err.Error())
		var perm permanent
		if errors.As(err, &perm) || attempt >= b.Attempts || ctx.Err() != nil {
			return "", fmt.Errorf("object store endpoint: %w (after %d attempt(s)%s)", err, attempt, d.hint())
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("object store endpoint: %w (%v)", ctx.Err(), err)
		}
		wait = min(2*wait, b.Max)
	}
}

// lookup reads the Service once.
func (d *Discoverer) lookup(ctx context.Context) (string, error) {
	name := d.Namespace + "/" + d.Service
	svc, err := d.Kube.CoreV1().Services(d.Namespace).Get(ctx, d.Service, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("the Service %s was not found", name)
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return "", permanent{fmt.Errorf("reading Service %s: %w (the credentials need get on services in %s)", name, err, d.Namespace)}
	case err != nil:
		return "", fmt.Errorf("reading Service %s: %w", name, err)
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == "None" {
		return "", permanent{fmt.Errorf("the Service %s has no ClusterIP (type %s, clusterIP %q): point it at a ClusterIP Service", name, svc.Spec.Type, ip)}
	}
	var names []string
	for _, p := range svc.Spec.Ports {
		if p.Name == d.PortName {
			return net.JoinHostPort(ip, strconv.Itoa(int(p.Port))), nil
		}
		names = append(names, fmt.Sprintf("%q (%d)", p.Name, p.Port))
	}
	return "", permanent{fmt.Errorf("the Service %s has no port named %q; its ports are %s", name, d.PortName, strings.Join(names, ", "))}
}

func (d *Discoverer) validate() error {
	var missing []string
	if d.Namespace == "" {
		missing = append(missing, "Namespace")
	}
	if d.Service == "" {
		missing = append(missing, "Service")
	}
	if d.PortName == "" {
		missing = append(missing, "PortName (the port is read from the Service by name, never assumed)")
	}
	if d.Kube == nil {
		missing = append(missing, "Kube (a Kubernetes client)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("object store discovery is not configured: missing %s%s", strings.Join(missing, ", "), d.hint())
	}
	return nil
}

func (d *Discoverer) hint() string {
	if d.EnvOverride == "" {
		return ""
	}
	return "; to bypass discovery set " + d.EnvOverride + "=host:port"
}

func (d *Discoverer) setStatus(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status = s
}

func (d *Discoverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Discoverer) ttl() time.Duration {
	if d.TTL > 0 {
		return d.TTL
	}
	return DefaultDiscoveryTTL
}

func (b Backoff) withDefaults() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = 5
	}
	if b.Initial <= 0 {
		b.Initial = 200 * time.Millisecond
	}
	if b.Max < b.Initial {
		b.Max = max(b.Initial, 5*time.Second)
	}
	return b
}

// permanent marks an answer that retrying within seconds will not change (a misnamed port, a
// headless Service, missing rights), so Endpoint reports it at once instead of backing off.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }
