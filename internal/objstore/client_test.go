package objstore

import (
	"strings"
	"testing"
)

func TestNewRefusesWhatCannotWork(t *testing.T) {
	ok := Config{Endpoint: "127.0.0.1:9000", AccessKey: "a", SecretKey: "b"}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"no endpoint: no public default", func(c *Config) { c.Endpoint = "" }, "no endpoint"},
		{"no secret", func(c *Config) { c.SecretKey = "" }, "secret key"},
		{"path", func(c *Config) { c.Endpoint = "127.0.0.1:9000/bucket" }, "found a path"},
		{"url with path", func(c *Config) { c.Endpoint = "http://127.0.0.1:9000/x" }, "no path"},
		{"scheme", func(c *Config) { c.Endpoint = "ftp://127.0.0.1:9000" }, "expected http or https"},
		{"http but Secure", func(c *Config) { c.Endpoint, c.Secure = "http://127.0.0.1:9000", true }, "Secure"},
		{"CA without TLS", func(c *Config) { c.CA = []byte("x") }, "no endpoint uses TLS"},
		{"CA not PEM", func(c *Config) { c.Secure, c.CA = true, []byte("x") }, "no PEM certificate"},
		{"bad presign endpoint", func(c *Config) { c.PresignEndpoint = "gopher://x" }, "presign endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	for _, edit := range []func(*Config){
		func(c *Config) {},
		func(c *Config) { c.PresignEndpoint = "https://s3.example.test" },
		func(c *Config) { c.Endpoint = "https://10.0.0.1:9000" },
	} {
		cfg := ok
		edit(&cfg)
		if _, err := New(cfg); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestPartPlan(t *testing.T) {
	c := &Client{}
	for _, tt := range []struct {
		size, partSize int64
		count          int
	}{
		{0, minPartSize, 1},
		{1, minPartSize, 1},
		{minPartSize, minPartSize, 1},
		{minPartSize + 1, minPartSize, 2},
		{200 << 30, 21 << 20, 9753}, // beyond 10,000 parts of 16 MiB: larger parts, whole MiB
		{maxObjectSize, 525 << 20, 9987},
	} {
		p := c.planParts(tt.size)
		if p.partSize != tt.partSize || p.count() != tt.count || p.count() > maxParts {
			t.Errorf("size %d: part size %d, %d parts; want %d, %d", tt.size, p.partSize, p.count(), tt.partSize, tt.count)
		}
		if off, n := p.span(p.count() - 1); off+n != tt.size {
			t.Errorf("size %d: the last part ends at %d", tt.size, off+n)
		}
	}
}
