package inject

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults for a Request.
const (
	DefaultName         = "airgap-injector"
	DefaultNamespace    = "airgap-system"
	DefaultNodePort     = 31998 // the registry the injector bootstraps takes 31999, as in Zarf
	DefaultReadyTimeout = 5 * time.Minute
	// DefaultConcurrency is how many chunk ConfigMaps are in flight at once: each is a 512 KiB
	// etcd write, and a few at a time keep the API server busy without queueing behind others.
	DefaultConcurrency = 3
	// containerPort is where the injector listens inside its pod.
	containerPort = 5000
	// maxNameLen leaves room for "-chunk-00000" and "-bin" and keeps the name a valid label value.
	maxNameLen = 40
)

// Labels on everything an injection creates. Remove and Status find the objects by them, so
// nothing has to be remembered between applies but the namespace and the name.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-airgap"
	LabelInjection = "airgap.openairgap.dev/injection"
	LabelComponent = "airgap.openairgap.dev/component" // chunk, injector-binary, injector
	// LabelCreatedNamespace marks a namespace that an injection created, and names it: Remove
	// deletes such a namespace, and only such a one, when nothing else is left in it.
	LabelCreatedNamespace = "airgap.openairgap.dev/created-by-injection"
)

// Annotations on the injector pod, read back by Status.
const (
	annotationDigest = "airgap.openairgap.dev/payload-digest"
	annotationChunks = "airgap.openairgap.dev/chunks"
)

// SupportedArchitectures are those the injector is built for (injector/Makefile).
var SupportedArchitectures = []string{"amd64", "arm64"}

// Request says where and how to run one injection. The zero value of every field but Name
// takes its default; Name defaults too.
type Request struct {
	Name      string // names and labels every object; a DNS label of at most 40 characters
	Namespace string // created when missing (and then deleted by Remove)
	NodePort  int32  // the port the kubelet pulls from, on 127.0.0.1 of every node
	// Node pins the injector to this node; empty: the first Ready node (by name) that has an
	// image of an architecture in Architectures.
	Node string
	// Architectures the injector may run on; empty: SupportedArchitectures. Inject narrows it to
	// the architectures the payload has an injector for.
	Architectures []string
	ReadyTimeout  time.Duration // from the pod's creation to Ready
	Concurrency   int           // chunk ConfigMaps created at once
	ChunkSize     int           // bytes per chunk; 0: DefaultChunkSize

	// beforePod runs after the ConfigMaps exist and before the pod does (tests tamper there).
	beforePod func(ctx context.Context) error
}

// ObjectRef names one object an injection created.
type ObjectRef struct {
	Kind      string // Namespace, ConfigMap, Service, Pod
	Namespace string
	Name      string
}

func (o ObjectRef) String() string {
	if o.Namespace == "" {
		return strings.ToLower(o.Kind) + "/" + o.Name
	}
	return strings.ToLower(o.Kind) + "/" + o.Namespace + "/" + o.Name
}

// withDefaults returns req with every unset field set, or an error naming the field at fault.
func (req Request) withDefaults() (Request, error) {
	if req.Name == "" {
		req.Name = DefaultName
	}
	if req.Namespace == "" {
		req.Namespace = DefaultNamespace
	}
	if req.NodePort == 0 {
		req.NodePort = DefaultNodePort
	}
	if len(req.Architectures) == 0 {
		req.Architectures = SupportedArchitectures
	}
	if req.ReadyTimeout == 0 {
		req.ReadyTimeout = DefaultReadyTimeout
	}
	if req.Concurrency == 0 {
		req.Concurrency = DefaultConcurrency
	}
	if req.ChunkSize == 0 {
		req.ChunkSize = DefaultChunkSize
	}
	return req, req.validate()
}

func (req Request) validate() error {
	var errs []error
	// Service names must be DNS-1035 labels (start with a letter), the strictest of the names used.
	if msgs := validation.IsDNS1035Label(req.Name); len(msgs) > 0 || len(req.Name) > maxNameLen {
		errs = append(errs, fmt.Errorf("name %q: want lowercase letters, digits and '-', starting with a letter, at most %d characters", req.Name, maxNameLen))
	}
	if msgs := validation.IsDNS1123Label(req.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace %q: %s", req.Namespace, strings.Join(msgs, "; ")))
	}
	if req.NodePort < 1 || req.NodePort > 65535 {
		errs = append(errs, fmt.Errorf("node port %d: want 1 to 65535 (the cluster's NodePort range, 30000-32767 by default)", req.NodePort))
	}
	if req.Concurrency < 1 || req.Concurrency > 16 {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1 to 16", req.Concurrency))
	}
	if _, err := checkChunkSize(req.ChunkSize); err != nil {
		errs = append(errs, err)
	}
	if req.ReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("ready timeout %s: want a positive duration", req.ReadyTimeout))
	}
	return errors.Join(errs...)
}

// labels are those of every object of the injection; component tells them apart.
func (req Request) labels(component string) map[string]string {
	return map[string]string{
		LabelManagedBy: ManagedBy,
		LabelInjection: req.Name,
		LabelComponent: component,
	}
}

// selector finds every object of the injection.
func selector(name string) string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelInjection + "=" + name
}

// Object names, all derived from the injection's name.
func (req Request) chunkName(i int) string { return req.Name + "-" + ChunkName(i) }
func (req Request) binaryName() string     { return req.Name + "-bin" }
