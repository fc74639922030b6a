package deploy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// Keys of the configuration Secret, mounted at configDir.
const (
	configDir      = "/etc/airgap-registry"
	keyHTPasswd    = "htpasswd"
	keyHTTPSecret  = "http-secret"
	keyS3AccessKey = "s3-access-key"
	keyS3SecretKey = "s3-secret-key"
)

// secretData is what the configuration Secret holds. The bcrypt hash and the HTTP secret are
// random: ensureSecretData keeps the ones already in the cluster while they still fit, so that
// applying the same registry twice changes nothing and does not restart its pod.
type secretData map[string][]byte

// digest covers everything the pod reads at start from the Secret: it goes into the pod
// template, so a change of credentials rolls the pod.
func (d secretData) digest() string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(d)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(len(d[k]))))
		h.Write([]byte{0})
		h.Write(d[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (r Registry) configSecret(data secretData) *corev1ac.SecretApplyConfiguration {
	return corev1ac.Secret(r.secretName(), r.Namespace).
		WithLabels(r.labels()).
		WithType(corev1.SecretTypeOpaque).
		WithData(data)
}

// dockerConfig is the .dockerconfigjson of the pull Secret.
func (r Registry) dockerConfig() []byte {
	type entry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	cfg := map[string]map[string]entry{"auths": {r.Endpoint(): {
		Username: r.Username, Password: r.Password,
		Auth: base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password)),
	}}}
	b, _ := json.Marshal(cfg) // maps of strings always marshal
	return b
}

func (r Registry) pullSecret(namespace string) *corev1ac.SecretApplyConfiguration {
	return corev1ac.Secret(r.pullSecretName(), namespace).
		WithLabels(r.labels()).
		WithType(corev1.SecretTypeDockerConfigJson).
		WithData(map[string][]byte{corev1.DockerConfigJsonKey: r.dockerConfig()})
}

func (r Registry) claim() *corev1ac.PersistentVolumeClaimApplyConfiguration {
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(r.Storage.Volume.Size)}))
	if sc := r.Storage.Volume.StorageClass; sc != "" {
		spec.WithStorageClassName(sc)
	}
	return corev1ac.PersistentVolumeClaim(r.claimName(), r.Namespace).WithLabels(r.labels()).WithSpec(spec)
}

func (r Registry) service() *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(r.Name, r.Namespace).
		WithLabels(r.labels()).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeNodePort).
			WithSelector(r.selectorLabels()).
			WithPorts(corev1ac.ServicePort().
				WithName("registry").WithProtocol(corev1.ProtocolTCP).
				WithPort(containerPort).WithTargetPort(intstr.FromInt32(containerPort)).
				WithNodePort(r.NodePort)))
}

// env is the registry's configuration (images/registry/README.md): its AIRGAP_REGISTRY_*
// variables, secrets by file.
func (r Registry) env(data secretData) []*corev1ac.EnvVarApplyConfiguration {
	var env []*corev1ac.EnvVarApplyConfiguration
	set := func(name, value string) {
		env = append(env, corev1ac.EnvVar().WithName("AIRGAP_REGISTRY_"+name).WithValue(value))
	}
	set("ADDR", ":"+strconv.Itoa(containerPort))
	set("HTTP_SECRET_FILE", configDir+"/"+keyHTTPSecret)
	if _, ok := data[keyHTPasswd]; ok {
		set("HTPASSWD", configDir+"/"+keyHTPasswd)
	}
	if s3 := r.Storage.S3; s3 != nil {
		set("STORAGE", "s3")
		set("S3_BUCKET", s3.Bucket)
		if s3.Endpoint != "" {
			set("S3_ENDPOINT", s3.Endpoint)
			u, _ := url.Parse(s3.Endpoint) // validated
			set("S3_SECURE", strconv.FormatBool(u.Scheme == "https"))
		}
		if s3.Region != "" {
			set("S3_REGION", s3.Region)
		}
		if s3.RootDirectory != "" {
			set("S3_ROOT_DIRECTORY", s3.RootDirectory)
		}
		set("S3_FORCE_PATH_STYLE", strconv.FormatBool(s3.PathStyle))
		if _, ok := data[keyS3AccessKey]; ok {
			set("S3_ACCESS_KEY_FILE", configDir+"/"+keyS3AccessKey)
			set("S3_SECRET_KEY_FILE", configDir+"/"+keyS3SecretKey)
		}
	} else {
		set("STORAGE", "filesystem")
		set("ROOT", dataDir)
	}
	return env
}

// deployment is the registry's Deployment. One replica: a volume is ReadWriteOnce, and one
// registry per cluster is what the bootstrap needs. A rollout starts the new pod before the old
// one stops (maxUnavailable 0), because the new pod may pull its image from the old one.
func (r Registry) deployment(data secretData, retired string) *appsv1ac.DeploymentApplyConfiguration {
	probe := func(failures int32) *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().
			WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/healthz").WithPort(intstr.FromInt32(containerPort))).
			WithPeriodSeconds(5).WithTimeoutSeconds(3).WithFailureThreshold(failures)
	}
	container := corev1ac.Container().
		WithName("registry").
		WithImage(r.Image).
		WithImagePullPolicy(corev1.PullIfNotPresent).
		WithEnv(r.env(data)...).
		WithPorts(corev1ac.ContainerPort().WithName("registry").WithContainerPort(containerPort).WithProtocol(corev1.ProtocolTCP)).
		WithReadinessProbe(probe(2)).
		WithLivenessProbe(probe(6)).
		WithResources(corev1ac.ResourceRequirements().WithRequests(corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
		})).
		WithSecurityContext(corev1ac.SecurityContext().
			WithAllowPrivilegeEscalation(false).
			WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL"))).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName("config").WithMountPath(configDir).WithReadOnly(true),
			corev1ac.VolumeMount().WithName("tmp").WithMountPath("/tmp"),
		)
	volumes := []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName("config").WithSecret(corev1ac.SecretVolumeSource().WithSecretName(r.secretName()).WithDefaultMode(0o440)),
		corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource().WithSizeLimit(resource.MustParse("64Mi"))),
	}
	pod := corev1ac.PodSpec().
		WithEnableServiceLinks(false).
		WithAutomountServiceAccountToken(false).
		WithTerminationGracePeriodSeconds(30).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).WithRunAsUser(runAs).WithRunAsGroup(runAs).
			WithFSGroup(runAs).WithFSGroupChangePolicy(corev1.FSGroupChangeOnRootMismatch).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	if r.Username != "" {
		pod.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(r.pullSecretName()))
	}
	if r.Storage.Volume != nil {
		container.WithVolumeMounts(corev1ac.VolumeMount().WithName("data").WithMountPath(dataDir))
		volumes = append(volumes, corev1ac.Volume().WithName("data").
			WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(r.claimName())))
		if r.Storage.Volume.FixPermissions {
			owner := strconv.Itoa(runAs) + ":" + strconv.Itoa(runAs)
			pod.WithInitContainers(corev1ac.Container().
				WithName("prepare-volume").
				WithImage(r.Image).
				WithImagePullPolicy(corev1.PullIfNotPresent).
				WithArgs("-root", dataDir, "-prepare-root", owner).
				WithSecurityContext(corev1ac.SecurityContext().
					WithRunAsUser(0).WithRunAsNonRoot(false).
					WithAllowPrivilegeEscalation(false).
					WithReadOnlyRootFilesystem(true).
					WithCapabilities(corev1ac.Capabilities().WithDrop("ALL").WithAdd("CHOWN"))).
				WithVolumeMounts(corev1ac.VolumeMount().WithName("data").WithMountPath(dataDir)))
		}
		// During a rollout the new pod must land where the volume is attached.
		pod.WithAffinity(corev1ac.Affinity().WithPodAffinity(corev1ac.PodAffinity().
			WithRequiredDuringSchedulingIgnoredDuringExecution(corev1ac.PodAffinityTerm().
				WithTopologyKey(corev1.LabelHostname).
				WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(r.selectorLabels())))))
	}
	pod.WithContainers(container).WithVolumes(volumes...)

	d := appsv1ac.Deployment(r.Name, r.Namespace).WithLabels(r.labels())
	if retired != "" {
		d.WithAnnotations(map[string]string{AnnotationRetiredInjection: retired})
	}
	return d.WithSpec(appsv1ac.DeploymentSpec().
		WithReplicas(1).
		WithRevisionHistoryLimit(3).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(r.selectorLabels())).
		WithStrategy(appsv1ac.DeploymentStrategy().
			WithType("RollingUpdate").
			WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
				WithMaxSurge(intstr.FromInt32(1)).WithMaxUnavailable(intstr.FromInt32(0)))).
		WithTemplate(corev1ac.PodTemplateSpec().
			WithLabels(r.labels()).
			WithAnnotations(map[string]string{annotationConfig: data.digest()}).
			WithSpec(pod)))
}
