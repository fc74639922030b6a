package objstore

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeClient connects to the Kubernetes API with the pod's service account, or with the
// kubeconfig file at path when one is given (and then its context, or the file's current one).
// The KUBECONFIG variable and ~/.kube/config are not consulted: a kubeconfig is used only when
// it is configured explicitly.
func KubeClient(kubeconfig, context string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		if context != "" {
			return nil, fmt.Errorf("kubernetes context %q given without a kubeconfig path: a context selects from a kubeconfig file", context)
		}
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no in-cluster configuration (not running in a pod with a service account?): give a kubeconfig path: %w", err)
		}
	} else {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	}
	if cfg == nil {
		return nil, errors.New("kubernetes: empty client configuration")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second // a discovery call must end so that it can be retried
	}
	cfg.UserAgent = "terraform-provider-airgap"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}
