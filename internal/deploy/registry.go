package deploy

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults for a Registry.
const (
	DefaultName         = "airgap-registry"
	DefaultNamespace    = "airgap-system"
	DefaultNodePort     = 31999
	DefaultUsername     = "airgap"
	DefaultVolumeSize   = "10Gi"
	DefaultReadyTimeout = 5 * time.Minute
	// FieldManager owns every field this package applies.
	FieldManager = "terraform-provider-airgap"
	// containerPort is the registry's listen port inside its pod (images/registry's default).
	containerPort = 5000
	// dataDir is where filesystem storage lives in the container.
	dataDir = "/var/lib/registry"
	// runAs is the image's numeric user and group.
	runAs = 65532
)

// Labels and annotations on everything a registry owns.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-airgap"
	LabelName      = "app.kubernetes.io/name"
	AppName        = "airgap-registry"
	LabelInstance  = "app.kubernetes.io/instance"
	// LabelCreatedNamespace marks a namespace that a registry created; Remove deletes such a
	// namespace when nothing else is left in it.
	LabelCreatedNamespace = "airgap.openairgap.dev/created-by-registry"
	// AnnotationRetiredInjection, on the Deployment, records the injection this registry
	// replaced: "NAMESPACE/NAME@PAYLOAD_DIGEST". The injection's Read takes it as proof that its
	// objects are gone on purpose.
	AnnotationRetiredInjection = "airgap.openairgap.dev/retired-injection"
	// annotationConfig, on the pod template, is a digest of the credentials and settings the
	// pod reads at start, so that changing them rolls the pod.
	annotationConfig = "airgap.openairgap.dev/config-digest"
)

// Registry describes one in-cluster registry.
type Registry struct {
	Name      string // names every object; a DNS label of at most 40 characters
	Namespace string // created when missing
	NodePort  int32  // the kubelet of every node pulls from 127.0.0.1:NodePort
	// Image is what the registry's pod runs: during Bootstrap first the injector's copy, then
	// the registry's own.
	Image   string
	Storage Storage
	// Username and Password protect the registry (htpasswd, bcrypt); both empty: no
	// authentication. The pull Secret carries them for the kubelet.
	Username, Password string
	ReadyTimeout       time.Duration
}

// Storage is where the registry keeps its data: exactly one of Volume and S3.
type Storage struct {
	Volume *Volume
	S3     *S3
}

// Volume is a PersistentVolumeClaim, created when missing and kept across image changes.
type Volume struct {
	Size         string // a quantity such as "20Gi"
	StorageClass string // empty: the cluster's default
	// FixPermissions runs an init container, as root with CAP_CHOWN alone, that gives the
	// volume's root directory to the registry's user: for provisioners that ignore fsGroup
	// (hostPath, some local ones). It does not pass Pod Security "restricted".
	FixPermissions bool
}

// S3 is a bucket in S3-compatible object storage. Endpoint is the URL as the registry pod
// reaches it (for an in-cluster store, its Service's cluster address).
type S3 struct {
	Endpoint      string
	Bucket        string
	Region        string
	RootDirectory string
	AccessKey     string
	SecretKey     string
	// PathStyle addresses buckets as ENDPOINT/BUCKET (MinIO and most S3-compatible stores).
	PathStyle bool
}

// Endpoint is where every node's kubelet pulls from.
func (r Registry) Endpoint() string { return "127.0.0.1:" + strconv.Itoa(int(r.NodePort)) }

// WithDefaults returns r with every unset field set, or an error naming each field at fault.
func (r Registry) WithDefaults() (Registry, error) {
	if r.Name == "" {
		r.Name = DefaultName
	}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if r.NodePort == 0 {
		r.NodePort = DefaultNodePort
	}
	if r.ReadyTimeout == 0 {
		r.ReadyTimeout = DefaultReadyTimeout
	}
	if r.Storage.Volume == nil && r.Storage.S3 == nil {
		r.Storage.Volume = &Volume{}
	}
	if v := r.Storage.Volume; v != nil && v.Size == "" {
		vv := *v
		vv.Size = DefaultVolumeSize
		r.Storage.Volume = &vv
	}
	return r, r.validate()
}

func (r Registry) validate() error {
	var errs []error
	if msgs := validation.IsDNS1035Label(r.Name); len(msgs) > 0 || len(r.Name) > 40 {
		errs = append(errs, fmt.Errorf("name %q: want lowercase letters, digits and '-', starting with a letter, at most 40 characters", r.Name))
	}
	if msgs := validation.IsDNS1123Label(r.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace %q: %s", r.Namespace, strings.Join(msgs, "; ")))
	}
	if r.NodePort < 1 || r.NodePort > 65535 {
		errs = append(errs, fmt.Errorf("node_port %d: want 1 to 65535 (the cluster's NodePort range, 30000-32767 by default)", r.NodePort))
	}
	if r.Image == "" {
		errs = append(errs, errors.New("image: required"))
	}
	if (r.Username == "") != (r.Password == "") {
		errs = append(errs, errors.New("username and password: give both, or neither for a registry without authentication"))
	}
	if strings.Contains(r.Username, ":") {
		errs = append(errs, fmt.Errorf("username %q: must not contain ':'", r.Username))
	}
	if r.ReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("ready timeout %s: want a positive duration", r.ReadyTimeout))
	}
	errs = append(errs, r.Storage.validate())
	return errors.Join(errs...)
}

func (s Storage) validate() error {
	if (s.Volume == nil) == (s.S3 == nil) {
		return errors.New("storage: set exactly one of volume and s3")
	}
	if v := s.Volume; v != nil {
		q, err := resource.ParseQuantity(v.Size)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("storage.volume.size %q: want a positive quantity such as 20Gi", v.Size)
		}
		if v.StorageClass != "" {
			if msgs := validation.IsDNS1123Subdomain(v.StorageClass); len(msgs) > 0 {
				return fmt.Errorf("storage.volume.storage_class %q: %s", v.StorageClass, strings.Join(msgs, "; "))
			}
		}
		return nil
	}
	s3 := s.S3
	var errs []error
	if s3.Bucket == "" {
		errs = append(errs, errors.New("storage.s3.bucket: required"))
	}
	if s3.Endpoint != "" {
		u, err := url.Parse(s3.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("storage.s3.endpoint %q: want http://HOST:PORT or https://HOST:PORT", s3.Endpoint))
		}
	} else if s3.Region == "" {
		errs = append(errs, errors.New("storage.s3: give an endpoint for an S3-compatible store, or a region for AWS S3"))
	}
	if (s3.AccessKey == "") != (s3.SecretKey == "") {
		errs = append(errs, errors.New("storage.s3: give both access_key and secret_key, or neither (the AWS SDK's own credential chain in the pod)"))
	}
	return errors.Join(errs...)
}

// labels are those of every object; selectorLabels pick the registry's pods.
func (r Registry) labels() map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelName: AppName, LabelInstance: r.Name}
}

func (r Registry) selectorLabels() map[string]string {
	return map[string]string{LabelName: AppName, LabelInstance: r.Name}
}

// selector finds every object of the registry.
func selector(name string) string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelName + "=" + AppName + "," + LabelInstance + "=" + name
}

// Object names, all derived from the registry's name.
func (r Registry) secretName() string     { return r.Name + "-config" }
func (r Registry) pullSecretName() string { return r.Name + "-pull" }
func (r Registry) claimName() string      { return r.Name + "-data" }

// PullSecretName is the name of the kubernetes.io/dockerconfigjson Secret for the registry's
// endpoint, in its namespace; CopyPullSecret puts copies in other namespaces.
func PullSecretName(name string) string { return Registry{Name: name}.pullSecretName() }
