package kube

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// UserAgent is what the API server's audit log shows for our requests.
const UserAgent = "terraform-provider-airgap"

// Config says how to reach the cluster. The zero value means the in-cluster service account: an
// air-gapped cluster always has its API server, and nothing is read from the environment (no
// KUBECONFIG, no ~/.kube/config) unless Kubeconfig names a file.
type Config struct {
	Kubeconfig string // path of a kubeconfig file; empty: in-cluster
	Context    string // a context of that file; empty: its current-context
	InCluster  bool   // in-cluster, said explicitly; conflicts with Kubeconfig and Context
}

// Clients returns a clientset and the configuration it was built from. Nothing is sent to the
// API server: building is cheap, and a cluster that does not exist yet (created in the same
// apply) fails only at the first request.
func Clients(cfg Config) (kubernetes.Interface, *rest.Config, error) {
	rc, err := restConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	rc.UserAgent = UserAgent
	// Chunk uploads are paced by their callers; client-go's default of 5 requests a second
	// would throttle them instead, with no benefit to the API server.
	rc.QPS, rc.Burst = 50, 100
	// Protobuf carries ConfigMap binaryData as raw bytes, JSON as base64: a third less to send
	// and encode for every payload chunk. Custom resources fall back to JSON.
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, rc, nil
}

func restConfig(cfg Config) (*rest.Config, error) {
	switch {
	case cfg.InCluster && (cfg.Kubeconfig != "" || cfg.Context != ""):
		return nil, errors.New("in_cluster conflicts with kubeconfig and context: set either in_cluster, or kubeconfig (and optionally context)")
	case cfg.Kubeconfig == "" && cfg.Context != "":
		return nil, fmt.Errorf("context %q is set without kubeconfig: set kubeconfig to the file that defines it (no default kubeconfig is read)", cfg.Context)
	case cfg.Kubeconfig != "":
		return fromKubeconfig(cfg.Kubeconfig, cfg.Context)
	default:
		return inCluster()
	}
}

func fromKubeconfig(path, context string) (*rest.Config, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return rc, nil
}

func inCluster() (*rest.Config, error) {
	rc, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, errors.New("not running inside a Kubernetes pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset): " +
			"set kubeconfig (and optionally context) to reach the cluster from outside")
	}
	if err != nil {
		return nil, fmt.Errorf("in-cluster configuration: %w", err)
	}
	return rc, nil
}
