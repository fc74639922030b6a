package inject

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Where the pod sees its volumes.
const (
	binaryDir   = "/airgap/bin"
	binaryFile  = "injector"
	chunksDir   = "/airgap/chunks"
	portName    = "registry"
	injectorUID = 65532 // any non-root ID: the files are world-readable, the binary world-executable
)

// Components, as in LabelComponent.
const (
	componentChunk    = "chunk"
	componentBinary   = "injector-binary"
	componentInjector = "injector"
)

func (req Request) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: req.Namespace, Labels: req.labels(component)}
}

// Chunk and binary ConfigMaps are immutable: the kubelet then reads each once instead of keeping
// a watch open per ConfigMap (thousands for a large payload), and nobody edits one by mistake.
// Replacing one is still possible, which is why the injector checks the payload's digest.
func (req Request) chunkConfigMap(c Chunk) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: req.meta(req.chunkName(c.Index), componentChunk),
		Immutable:  ptr(true),
		BinaryData: map[string][]byte{c.Name: c.Data},
	}
}

func (req Request) binaryConfigMap(binary []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: req.meta(req.binaryName(), componentBinary),
		Immutable:  ptr(true),
		BinaryData: map[string][]byte{binaryFile: binary},
	}
}

// service exposes the injector on NodePort of every node. It asks for IPv4 alone: NodePorts
// answer on 127.0.0.1 only for IPv4 services (see network.go).
func (req Request) service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: req.meta(req.Name, componentInjector),
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeNodePort,
			Selector:       req.labels(componentInjector),
			IPFamilies:     []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy: ptr(corev1.IPFamilyPolicySingleStack),
			Ports: []corev1.ServicePort{{
				Name:       portName,
				Protocol:   corev1.ProtocolTCP,
				Port:       containerPort,
				TargetPort: intstr.FromString(portName),
				NodePort:   req.NodePort,
			}},
		},
	}
}

// injectorPod runs the injector in the borrowed image. The container's root filesystem is the
// image's, but its process is the injector, mounted from a ConfigMap with mode 0555: a static
// binary needs no loader, libc or shell, so an image holding nothing but /pause can host it
// (the runtime creates the mount points itself). imagePullPolicy IfNotPresent and nodeName keep
// the kubelet from pulling: the image is on that node, and there is nowhere to pull from yet.
func (req Request) injectorPod(p *Placement, digest string, chunks int, payloadSize int64) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: req.meta(req.Name, componentInjector),
		Spec: corev1.PodSpec{
			NodeName:                      p.Node,
			RestartPolicy:                 corev1.RestartPolicyAlways,
			AutomountServiceAccountToken:  ptr(false),
			EnableServiceLinks:            ptr(false),
			TerminationGracePeriodSeconds: ptr(int64(2)),
			// The sandbox's pause process becomes PID 1, so the injector is not: the kernel
			// ignores a signal PID 1 has no handler for, and the injector has none for
			// SIGTERM, so as PID 1 it would make every deletion wait out the grace period.
			ShareProcessNamespace: ptr(true),
			// nodeName bypasses the scheduler, so NoSchedule taints do not matter; tolerating
			// everything also keeps a NoExecute taint from evicting the only registry there is.
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr(true),
				RunAsUser:      ptr(int64(injectorUID)), // numeric: the image may have no /etc/passwd
				RunAsGroup:     ptr(int64(injectorUID)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            componentInjector,
				Image:           p.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{binaryDir + "/" + binaryFile},
				Args:            []string{"--sha256", digest, "--chunks", chunksDir, "--listen", strconv.Itoa(containerPort)},
				Ports:           []corev1.ContainerPort{{Name: portName, ContainerPort: containerPort, Protocol: corev1.ProtocolTCP}},
				// A probe a second: the injector lives only until the registry is up, and an
				// answer costs it one fork and one log line.
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/v2/", Port: intstr.FromString(portName)}},
					PeriodSeconds:    1,
					TimeoutSeconds:   2,
					FailureThreshold: 3,
				},
				// The kubelet copies the end of the log into the termination message when the
				// injector fails, so its refusal reaches the pod status (and Inject's error)
				// even where the caller may not read logs.
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("10m"),
					// The injector holds the whole payload in memory.
					corev1.ResourceMemory: *resource.NewQuantity(payloadSize+16<<20, resource.BinarySI),
				}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					ReadOnlyRootFilesystem:   ptr(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "binary", MountPath: binaryDir, ReadOnly: true},
					{Name: "chunks", MountPath: chunksDir, ReadOnly: true},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "binary", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: req.binaryName()},
					DefaultMode:          ptr(int32(0o555)),
				}}},
				{Name: "chunks", VolumeSource: corev1.VolumeSource{Projected: req.chunkProjection(chunks)}},
			},
		},
	}
	pod.Annotations = map[string]string{annotationDigest: digest, annotationChunks: strconv.Itoa(chunks)}
	return pod
}

// chunkProjection puts every chunk ConfigMap's one key into one directory: chunk-00000, ...
func (req Request) chunkProjection(chunks int) *corev1.ProjectedVolumeSource {
	sources := make([]corev1.VolumeProjection, chunks)
	for i := range sources {
		sources[i].ConfigMap = &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: req.chunkName(i)},
			Items:                []corev1.KeyToPath{{Key: ChunkName(i), Path: ChunkName(i)}},
		}
	}
	return &corev1.ProjectedVolumeSource{Sources: sources, DefaultMode: ptr(int32(0o444))}
}

func ptr[T any](v T) *T { return &v }
