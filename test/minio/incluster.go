package minio

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	miniogo "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/openairgap/terraform-provider-airgap/test/cluster"
	"github.com/openairgap/terraform-provider-airgap/test/tools"
)

// InClusterServer is MinIO running as a pod of the test cluster, behind a Service.
type InClusterServer struct {
	Namespace, Service, PortName string
	// ClusterEndpoint is the Service's ClusterIP and port: what pods reach, and this machine
	// too, being the node.
	ClusterEndpoint string
	Bucket          string
}

// InCluster runs the MinIO server, the real program, as a pod of the test cluster in namespace
// (which must exist), behind a Service named "minio" whose S3 port is named "s3", and creates
// bucket. The node gets the image from the tools' binary (imported, never pulled). Everything
// goes with the namespace.
func InCluster(t testing.TB, c *cluster.Cluster, namespace, bucket string) *InClusterServer {
	t.Helper()
	image := "localhost/airgap-test/minio:" + filepath.Base(filepath.Dir(tools.Path(t, "minio")))
	c.ImportImage(t, imageArchive(t), image)
	ctx, cs := t.Context(), c.Clientset()
	labels := map[string]string{"app": "minio"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "minio", Labels: labels},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: new(int64),
			// MinIO looks names up as it starts; the test cluster has no DNS of its own, and the
			// host's resolver is outside: point it at the pod's own loopback instead.
			DNSPolicy:       corev1.DNSNone,
			DNSConfig:       &corev1.PodDNSConfig{Nameservers: []string{"127.0.0.1"}},
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(int64(65532)), RunAsGroup: ptr(int64(65532))},
			Containers: []corev1.Container{{
				Name: "minio", Image: image, ImagePullPolicy: corev1.PullNever,
				Args: []string{"server", "/data", "--address", ":9000"},
				Env: []corev1.EnvVar{
					{Name: "MINIO_ROOT_USER", Value: AccessKey}, {Name: "MINIO_ROOT_PASSWORD", Value: SecretKey},
					{Name: "MINIO_BROWSER", Value: "off"}, {Name: "HOME", Value: "/data"},
				},
				Ports:          []corev1.ContainerPort{{Name: "s3", ContainerPort: 9000}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/minio/health/ready", Port: intstr.FromInt32(9000)}}, PeriodSeconds: 1},
				VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
	if _, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := cs.CoreV1().Services(namespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "minio"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
			{Name: "s3", Port: 9000, TargetPort: intstr.FromString("s3")},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &InClusterServer{Namespace: namespace, Service: "minio", PortName: "s3", Bucket: bucket,
		ClusterEndpoint: fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, 9000)}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		p, err := cs.CoreV1().Pods(namespace).Get(ctx, "minio", metav1.GetOptions{})
		if err == nil && podReady(p) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in-cluster MinIO not ready after 2m: %v %+v", err, p.Status)
		}
	}
	client, err := miniogo.New(s.ClusterEndpoint, &miniogo.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	// The Service's endpoint may lag the pod's readiness by a moment.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(250 * time.Millisecond) {
		err = client.MakeBucket(ctx, bucket, miniogo.MakeBucketOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating bucket %s in the in-cluster MinIO: %v", bucket, err)
		}
	}
	return s
}

// Client is an S3 client of the in-cluster server, from this machine.
func (s *InClusterServer) Client(t testing.TB) *miniogo.Client {
	c, err := miniogo.New(s.ClusterEndpoint, &miniogo.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Keys lists the object keys under prefix in the bucket.
func (s *InClusterServer) Keys(t testing.TB, prefix string) []string {
	var keys []string
	for o := range s.Client(t).ListObjects(context.Background(), s.Bucket, miniogo.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// imageArchive packs the MinIO binary into a one-layer image, as a docker archive for the
// node's containerd, cached next to the binary.
func imageArchive(t testing.TB) string {
	t.Helper()
	bin := tools.Path(t, "minio")
	archive := bin + ".image.tar"
	if _, err := os.Stat(archive); err == nil {
		return archive
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return binaryTar(bin) }, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH // the binary is built for this machine
	cf.Config = v1.Config{Entrypoint: []string{"/minio"}, User: "65532:65532"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference("localhost/airgap-test/minio:latest")
	if err != nil {
		t.Fatal(err)
	}
	tmp := archive + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, archive); err != nil {
		t.Fatal(err)
	}
	return archive
}

// binaryTar is a tar stream holding the binary as /minio.
func binaryTar(bin string) (io.ReadCloser, error) {
	f, err := os.Open(bin)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "minio", Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}
