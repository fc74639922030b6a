package objstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
)

const twoClusters = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:16443"}
- name: b
  cluster: {server: "https://127.0.0.1:26443"}
users:
- name: u
  user: {token: t}
contexts:
- name: a
  context: {cluster: a, user: u}
- name: b
  context: {cluster: b, user: u}
current-context: a
`

func TestKubeClientUsesInClusterConfigByDefault(t *testing.T) {
	// Outside a pod: the in-cluster configuration is missing, and neither KUBECONFIG nor
	// ~/.kube/config is used in its place.
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(twoClusters), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("KUBECONFIG", path)
	t.Setenv("HOME", dir)
	if _, err := KubeClient("", ""); err == nil || !strings.Contains(err.Error(), "in-cluster") {
		t.Fatalf("got %v", err)
	}
	if _, err := KubeClient("", "b"); err == nil || !strings.Contains(err.Error(), "without a kubeconfig") {
		t.Fatalf("got %v", err)
	}
}

func TestKubeClientReadsAnExplicitKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(twoClusters), 0o600); err != nil {
		t.Fatal(err)
	}
	for context, want := range map[string]string{"": "127.0.0.1:16443", "b": "127.0.0.1:26443"} {
		kc, err := KubeClient(path, context)
		if err != nil {
			t.Fatal(err)
		}
		if got := kc.(*kubernetes.Clientset).CoreV1().RESTClient().Get().URL().Host; got != want {
			t.Errorf("context %q: host %s, want %s", context, got, want)
		}
	}
	if _, err := KubeClient(path, "c"); err == nil || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("missing context: %v", err)
	}
	if _, err := KubeClient(filepath.Join(t.TempDir(), "absent"), ""); err == nil {
		t.Fatal("a missing kubeconfig file was accepted")
	}
}
