package objstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// service is an object store's Service whose S3 port is deliberately not 9000: a discoverer that
// assumed the usual port would be caught.
func service(ip string, ports ...corev1.ServicePort) *corev1.Service {
	if ports == nil {
		ports = []corev1.ServicePort{{Name: "console", Port: 9001}, {Name: "s3", Port: 31337}}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: "airgap-system"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, Ports: ports},
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func discoverer(cs *fake.Clientset, env map[string]string) (*Discoverer, *clock) {
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	return &Discoverer{
		Namespace: "airgap-system", Service: "store", PortName: "s3",
		EnvOverride: "AIRGAP_S3_ENDPOINT",
		Kube:        cs,
		Backoff:     Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, Attempts: 3},
		Now:         clk.now,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}, clk
}

func gets(cs *fake.Clientset) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "services" {
			n++
		}
	}
	return n
}

func mustEndpoint(t *testing.T, d *Discoverer, want string) {
	t.Helper()
	got, err := d.Endpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("endpoint %q, want %q", got, want)
	}
}

func TestDiscoveryReadsTheNamedPort(t *testing.T) {
	cs := fake.NewClientset(service("10.96.0.7"))
	d, _ := discoverer(cs, nil)
	if !strings.HasPrefix(d.Status(), "degraded:") {
		t.Fatalf("status before any lookup: %q", d.Status())
	}
	mustEndpoint(t, d, "10.96.0.7:31337")
	if d.Status() != "ok" {
		t.Fatalf("status %q", d.Status())
	}

	cs6 := fake.NewClientset(service("fd00::7"))
	d6, _ := discoverer(cs6, nil)
	mustEndpoint(t, d6, "[fd00::7]:31337")
}

func TestDiscoveryNeverFallsBackToAPortNumber(t *testing.T) {
	for name, svc := range map[string]*corev1.Service{
		"other names": service("10.96.0.7", corev1.ServicePort{Name: "api", Port: 9000}),
		"unnamed":     service("10.96.0.7", corev1.ServicePort{Port: 9000}),
	} {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(svc)
			d, _ := discoverer(cs, nil)
			_, err := d.Endpoint(context.Background())
			if err == nil || !strings.Contains(err.Error(), `no port named "s3"`) || !strings.Contains(err.Error(), "(9000)") {
				t.Fatalf("got %v", err)
			}
			if !strings.Contains(err.Error(), "AIRGAP_S3_ENDPOINT=host:port") {
				t.Errorf("the error does not say how to bypass discovery: %v", err)
			}
			if gets(cs) != 1 {
				t.Errorf("a misnamed port is not retried, but %d lookups were made", gets(cs))
			}
			if !strings.Contains(d.Status(), "degraded: ") {
				t.Errorf("status %q", d.Status())
			}
		})
	}
}

func TestDiscoveryRefusesAServiceWithoutClusterIP(t *testing.T) {
	cs := fake.NewClientset(service("None"))
	d, _ := discoverer(cs, nil)
	if _, err := d.Endpoint(context.Background()); err == nil || !strings.Contains(err.Error(), "no ClusterIP") {
		t.Fatalf("got %v", err)
	}
}

func TestOverrideWins(t *testing.T) {
	cs := fake.NewClientset(service("10.96.0.7"))
	d, _ := discoverer(cs, map[string]string{"AIRGAP_S3_ENDPOINT": " 127.0.0.1:19000 "})
	mustEndpoint(t, d, "127.0.0.1:19000")
	if len(cs.Actions()) != 0 {
		t.Fatalf("the override was set, yet the API was called: %v", cs.Actions())
	}
	if d.Status() != "ok" {
		t.Fatalf("status %q", d.Status())
	}
	// Set but empty is not an override.
	d2, _ := discoverer(cs, map[string]string{"AIRGAP_S3_ENDPOINT": ""})
	mustEndpoint(t, d2, "10.96.0.7:31337")
	// With no Kubernetes client at all, the override still works.
	d3, _ := discoverer(nil, map[string]string{"AIRGAP_S3_ENDPOINT": "10.0.0.1:1"})
	d3.Kube = nil
	mustEndpoint(t, d3, "10.0.0.1:1")
}

func TestDiscoveryIsCachedForTheTTLAndInvalidated(t *testing.T) {
	cs := fake.NewClientset(service("10.96.0.7"))
	d, clk := discoverer(cs, nil)
	mustEndpoint(t, d, "10.96.0.7:31337")

	// The Service moves; within the TTL (45s by default) the cached answer stands.
	if _, err := cs.CoreV1().Services("airgap-system").Update(context.Background(), service("10.96.0.8"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.advance(44 * time.Second)
	mustEndpoint(t, d, "10.96.0.7:31337")
	if gets(cs) != 1 {
		t.Fatalf("%d lookups within the TTL", gets(cs))
	}
	clk.advance(2 * time.Second)
	mustEndpoint(t, d, "10.96.0.8:31337")
	if gets(cs) != 2 {
		t.Fatalf("%d lookups after the TTL", gets(cs))
	}

	// A connection error: the caller invalidates, the next call asks again.
	if _, err := cs.CoreV1().Services("airgap-system").Update(context.Background(), service("10.96.0.9"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Invalidate()
	mustEndpoint(t, d, "10.96.0.9:31337")
	if gets(cs) != 3 {
		t.Fatalf("%d lookups after Invalidate", gets(cs))
	}

	d.TTL = 10 * time.Second
	d.Invalidate()
	mustEndpoint(t, d, "10.96.0.9:31337")
	clk.advance(9 * time.Second)
	mustEndpoint(t, d, "10.96.0.9:31337")
	if gets(cs) != 4 {
		t.Fatalf("a 10s TTL, 9s later: %d lookups", gets(cs))
	}
	clk.advance(2 * time.Second)
	mustEndpoint(t, d, "10.96.0.9:31337")
	if gets(cs) != 5 {
		t.Fatalf("a 10s TTL, 11s later: %d lookups", gets(cs))
	}
}

func TestDiscoveryIsDegradedUntilTheServiceAppears(t *testing.T) {
	cs := fake.NewClientset()
	d, _ := discoverer(cs, nil)
	_, err := d.Endpoint(context.Background())
	if err == nil || !strings.Contains(err.Error(), "was not found") || !strings.Contains(err.Error(), "after 3 attempt(s)") {
		t.Fatalf("got %v", err)
	}
	if gets(cs) != 3 {
		t.Fatalf("%d lookups, want 3 (Backoff.Attempts)", gets(cs))
	}
	if st := d.Status(); st != "degraded: the Service airgap-system/store was not found" {
		t.Fatalf("status %q", st)
	}
	if _, err := cs.CoreV1().Services("airgap-system").Create(context.Background(), service("10.96.0.7"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustEndpoint(t, d, "10.96.0.7:31337")
	if d.Status() != "ok" {
		t.Fatalf("status after recovery %q", d.Status())
	}
}

func TestDiscoveryRetriesWithinOneCall(t *testing.T) {
	cs := fake.NewClientset(service("10.96.0.7"))
	failures := 2
	cs.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
		}
		return false, nil, nil
	})
	d, _ := discoverer(cs, nil)
	start := time.Now()
	mustEndpoint(t, d, "10.96.0.7:31337")
	if gets(cs) != 3 {
		t.Fatalf("%d lookups", gets(cs))
	}
	if waited := time.Since(start); waited < 3*time.Millisecond { // 1ms, then 2ms
		t.Fatalf("retried without backing off (%s)", waited)
	}
}

func TestDiscoveryStopsWithItsContext(t *testing.T) {
	cs := fake.NewClientset()
	d, _ := discoverer(cs, nil)
	d.Backoff = Backoff{Initial: time.Hour, Attempts: 10}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := d.Endpoint(ctx); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the backoff ignored the context")
	}
}

func TestConcurrentMissesShareOneLookup(t *testing.T) {
	cs := fake.NewClientset(service("10.96.0.7"))
	d, _ := discoverer(cs, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ep, err := d.Endpoint(context.Background()); err != nil || ep != "10.96.0.7:31337" {
				t.Errorf("%q %v", ep, err)
			}
		}()
	}
	wg.Wait()
	if gets(cs) != 1 {
		t.Fatalf("%d lookups for 16 concurrent callers", gets(cs))
	}
}

func TestDiscoveryNeedsItsConfiguration(t *testing.T) {
	d := &Discoverer{Namespace: "ns", Service: "store", Kube: fake.NewClientset()}
	if _, err := d.Endpoint(context.Background()); err == nil || !strings.Contains(err.Error(), "PortName") {
		t.Fatalf("got %v", err)
	}
}
