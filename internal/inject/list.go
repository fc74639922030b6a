package inject

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// listObjects finds every pod, Service and ConfigMap labelled for the injection, by kind.
func listObjects(ctx context.Context, cs kubernetes.Interface, namespace, name string) ([]ObjectRef, error) {
	opts := metav1.ListOptions{LabelSelector: selector(name)}
	var refs []ObjectRef
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing the injection's pods: %w", err)
	}
	for _, o := range pods.Items {
		refs = append(refs, ObjectRef{"Pod", namespace, o.Name})
	}
	svcs, err := cs.CoreV1().Services(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing the injection's services: %w", err)
	}
	for _, o := range svcs.Items {
		refs = append(refs, ObjectRef{"Service", namespace, o.Name})
	}
	cms, err := configMapNames(ctx, cs, namespace, opts.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("listing the injection's ConfigMaps: %w", err)
	}
	for _, name := range cms {
		refs = append(refs, ObjectRef{"ConfigMap", namespace, name})
	}
	return refs, nil
}

// metadataOnly asks the API server for names and labels without the data: listing the chunk
// ConfigMaps in full would download the whole payload again.
const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

func configMapNames(ctx context.Context, cs kubernetes.Interface, namespace, labelSelector string) ([]string, error) {
	var names []string
	if rc, ok := cs.CoreV1().RESTClient().(*rest.RESTClient); !ok || rc == nil {
		// The fake clientsets of unit tests have no REST client: list whole objects.
		cms, err := cs.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
		if err != nil {
			return nil, err
		}
		for _, cm := range cms.Items {
			names = append(names, cm.Name)
		}
		return names, nil
	}
	raw, err := cs.CoreV1().RESTClient().Get().Namespace(namespace).Resource("configmaps").
		Param("labelSelector", labelSelector).SetHeader("Accept", metadataOnly).DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var list metav1.PartialObjectMetadataList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("decoding the ConfigMap list: %w", err)
	}
	for _, item := range list.Items {
		names = append(names, item.Name)
	}
	return names, nil
}

// describeObjects says "pod/x, service/x and 12 ConfigMaps".
func describeObjects(refs []ObjectRef) string {
	var parts []string
	configMaps := 0
	for _, r := range refs {
		if r.Kind == "ConfigMap" {
			configMaps++
			continue
		}
		parts = append(parts, strings.ToLower(r.Kind)+"/"+r.Name)
	}
	switch configMaps {
	case 0:
	case 1:
		parts = append(parts, "1 ConfigMap")
	default:
		parts = append(parts, fmt.Sprintf("%d ConfigMaps", configMaps))
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
