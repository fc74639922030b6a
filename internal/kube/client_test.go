package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// twoClusters is a kubeconfig with two contexts; nothing listens on its addresses, and nothing
// needs to: building clients sends no request.
const twoClusters = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}
- name: b
  cluster: {server: "https://127.0.0.1:26443", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`

func TestClients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(twoClusters), 0o600); err != nil {
		t.Fatal(err)
	}
	// Neither variable may be read: the configuration names the file or nothing.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	tests := []struct {
		name     string
		cfg      Config
		wantHost string
		wantErr  string
	}{
		{"current context", Config{Kubeconfig: path}, "https://127.0.0.1:16443", ""},
		{"named context", Config{Kubeconfig: path, Context: "ctx-b"}, "https://127.0.0.1:26443", ""},
		{"unknown context", Config{Kubeconfig: path, Context: "ctx-c"}, "", `"ctx-c" does not exist`},
		{"missing file", Config{Kubeconfig: path + ".absent"}, "", "no such file"},
		{"context without file", Config{Context: "ctx-b"}, "", "set kubeconfig to the file"},
		{"both ways", Config{InCluster: true, Kubeconfig: path}, "", "conflicts"},
		{"in cluster, outside a pod", Config{}, "", "not running inside a Kubernetes pod"},
		{"in cluster said explicitly", Config{InCluster: true}, "", "not running inside a Kubernetes pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, rc, err := Clients(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cs == nil || rc.Host != tt.wantHost {
				t.Fatalf("host %q, want %q", rc.Host, tt.wantHost)
			}
			if rc.UserAgent != UserAgent || rc.ContentType != "application/vnd.kubernetes.protobuf" || rc.QPS != 50 {
				t.Errorf("client settings not applied: %+v", rc)
			}
		})
	}
}
