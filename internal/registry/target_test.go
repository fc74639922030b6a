package registry

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestPlainHTTPOnlyToThisNode(t *testing.T) {
	// This node's only non-loopback address, for the test: 192.0.2.7.
	saved := interfaceAddrs
	interfaceAddrs = func() ([]net.Addr, error) {
		return []net.Addr{&net.IPNet{IP: net.ParseIP("192.0.2.7"), Mask: net.CIDRMask(24, 32)}}, nil
	}
	t.Cleanup(func() { interfaceAddrs = saved })

	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:5000", true},
		{"127.0.0.53:5000", true},
		{"localhost:5000", true},
		{"[::1]:5000", true},
		{"192.0.2.7:31999", true}, // an address of this node
		{"192.0.2.8:31999", false},
		{"10.1.2.3:5000", false},
		{"registry.example:5000", false},
		{"registry.local", false}, // names other than localhost are not resolved
	} {
		t.Run(tc.host, func(t *testing.T) {
			err := Target{Host: tc.host, PlainHTTP: true}.validate()
			if tc.ok {
				must(t, err)
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "PlainHTTP" || !strings.Contains(err.Error(), tc.host) {
				t.Fatalf("expected a PlainHTTP field error naming %s, got %v", tc.host, err)
			}
		})
	}
}

func TestPlainHTTPRefusedBeforeAnyRequest(t *testing.T) {
	b := openSample(t)
	c := newCounter()
	tg := Target{Host: "registry.example:5000", PlainHTTP: true, Transport: c}
	_, err := Mirror(context.Background(), b, tg)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "PlainHTTP" {
		t.Fatalf("expected a PlainHTTP field error, got %v", err)
	}
	_, err = Check(context.Background(), b, tg)
	if !errors.As(err, &fe) {
		t.Fatalf("Check: expected a PlainHTTP field error, got %v", err)
	}
	if c.total() != 0 {
		t.Fatalf("%d requests were made to a refused target", c.total())
	}
}

func TestHTTPSIsTheDefault(t *testing.T) {
	// A plain-HTTP registry on loopback, without PlainHTTP: the engine asks over https and never
	// falls back to http by itself.
	reg := backends[0].start(t)
	c := newCounter()
	_, err := Mirror(context.Background(), openSample(t), Target{Host: reg.host, Transport: c})
	if err == nil || !strings.Contains(err.Error(), "PlainHTTP is false") {
		t.Fatalf("expected the http fallback to be refused, got %v", err)
	}
	if c.schemes["http"] != 0 || c.schemes["https"] == 0 {
		t.Fatalf("expected https attempts only, got %v", c.schemes)
	}
}

func TestRepositoryMapping(t *testing.T) {
	for _, tc := range []struct {
		prefix, image, want string
	}{
		{"", "docker.io/library/nginx", "library/nginx"},
		{"", "ghcr.io/org/team/app", "org/team/app"},
		{"", "127.0.0.1:5000/samples/app", "samples/app"},
		{"mirror", "docker.io/library/nginx", "mirror/library/nginx"},
		{"a/b", "registry.example/app", "a/b/app"},
	} {
		got, err := Target{Host: "127.0.0.1:31999", Prefix: tc.prefix}.repository(tc.image)
		must(t, err)
		if got != tc.want {
			t.Errorf("%q under prefix %q: got %q, want %q", tc.image, tc.prefix, got, tc.want)
		}
	}
	for _, bad := range []Target{{Host: ""}, {Host: "127.0.0.1:5000", Prefix: "Upper"}, {Host: "127.0.0.1:5000", Prefix: "a/"}, {Host: "https://x"}} {
		var fe *FieldError
		if err := bad.validate(); !errors.As(err, &fe) {
			t.Errorf("%+v: expected a field error, got %v", bad, err)
		}
	}
}

func TestUnreachableIsAFailureToConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	host := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused
	_, err = newClient(context.Background(), Target{Host: host, PlainHTTP: true}, []string{"x"}, scopePull, 1)
	if err == nil || !unreachable(err) {
		t.Fatalf("a refused connection: %v (unreachable %v)", err, unreachable(err))
	}
	if unreachable(errors.New("UNAUTHORIZED: authentication required")) {
		t.Fatal("an answer from the registry counted as unreachable")
	}
}
