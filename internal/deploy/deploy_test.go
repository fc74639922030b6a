package deploy

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
)

func TestValidateNamesTheField(t *testing.T) {
	ok := Registry{Image: "127.0.0.1:31999/openairgap/registry@sha256:" + strings.Repeat("a", 64)}
	cases := []struct {
		name string
		edit func(*Registry)
		want string
	}{
		{"bad name", func(r *Registry) { r.Name = "Registry" }, `name "Registry"`},
		{"long name", func(r *Registry) { r.Name = strings.Repeat("r", 41) }, "at most 40 characters"},
		{"bad namespace", func(r *Registry) { r.Namespace = "a_b" }, `namespace "a_b"`},
		{"port", func(r *Registry) { r.NodePort = 70000 }, "node_port 70000"},
		{"no image", func(r *Registry) { r.Image = "" }, "image: required"},
		{"user without password", func(r *Registry) { r.Username = "u" }, "username and password"},
		{"colon in user", func(r *Registry) { r.Username, r.Password = "a:b", "p" }, "must not contain ':'"},
		{"both storages", func(r *Registry) { r.Storage = Storage{Volume: &Volume{}, S3: &S3{Bucket: "b", Region: "r"}} }, "exactly one of volume and s3"},
		{"bad size", func(r *Registry) { r.Storage.Volume = &Volume{Size: "lots"} }, `storage.volume.size "lots"`},
		{"no bucket", func(r *Registry) { r.Storage.S3 = &S3{Endpoint: "http://m:9000"} }, "storage.s3.bucket: required"},
		{"endpoint path", func(r *Registry) { r.Storage.S3 = &S3{Bucket: "b", Endpoint: "http://m:9000/x"} }, `storage.s3.endpoint "http://m:9000/x"`},
		{"no endpoint nor region", func(r *Registry) { r.Storage.S3 = &S3{Bucket: "b"} }, "an endpoint for an S3-compatible store, or a region"},
		{"half credentials", func(r *Registry) { r.Storage.S3 = &S3{Bucket: "b", Region: "r", AccessKey: "a"} }, "both access_key and secret_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			_, err := r.WithDefaults()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	r, err := ok.WithDefaults()
	if err != nil || r.Name != DefaultName || r.Namespace != DefaultNamespace || r.NodePort != DefaultNodePort || r.Storage.Volume.Size != DefaultVolumeSize {
		t.Fatalf("defaults: %+v, %v", r, err)
	}
}

func TestDeploymentFollowsTheSettings(t *testing.T) {
	r, err := Registry{Image: "img", Username: "u", Password: "p", Storage: Storage{Volume: &Volume{FixPermissions: true}}}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := r.deployment(secretData{keyHTPasswd: []byte("u:x\n")}, "ns/seed@sha256:1")
	pod := d.Spec.Template.Spec
	if len(pod.ImagePullSecrets) != 1 || *pod.ImagePullSecrets[0].Name != "airgap-registry-pull" {
		t.Errorf("pull secrets %v", pod.ImagePullSecrets)
	}
	if len(pod.InitContainers) != 1 || *pod.InitContainers[0].SecurityContext.RunAsUser != 0 ||
		pod.InitContainers[0].SecurityContext.Capabilities.Add[0] != "CHOWN" || *pod.InitContainers[0].Image != "img" {
		t.Errorf("init container %+v", pod.InitContainers)
	}
	if pod.Affinity == nil || d.Annotations[AnnotationRetiredInjection] != "ns/seed@sha256:1" {
		t.Errorf("a registry on a volume keeps to its node; the retirement is recorded: %+v %v", pod.Affinity, d.Annotations)
	}
	if *d.Spec.Strategy.RollingUpdate.MaxUnavailable != intstr.FromInt32(0) {
		t.Errorf("the old pod must serve the new one's pull: maxUnavailable %v", d.Spec.Strategy.RollingUpdate.MaxUnavailable)
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[*e.Name] = *e.Value
	}
	if env["AIRGAP_REGISTRY_STORAGE"] != "filesystem" || env["AIRGAP_REGISTRY_HTPASSWD"] != "/etc/airgap-registry/htpasswd" {
		t.Errorf("env %v", env)
	}

	s3 := Registry{Image: "img", Storage: Storage{S3: &S3{Endpoint: "http://10.96.0.9:9000", Bucket: "b", AccessKey: "a", SecretKey: "s", PathStyle: true}}}
	s3, _ = s3.WithDefaults()
	pod = s3.deployment(secretData{keyS3AccessKey: []byte("a"), keyS3SecretKey: []byte("s")}, "").Spec.Template.Spec
	env = map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[*e.Name] = *e.Value
	}
	for k, v := range map[string]string{"STORAGE": "s3", "S3_ENDPOINT": "http://10.96.0.9:9000", "S3_SECURE": "false", "S3_FORCE_PATH_STYLE": "true",
		"S3_ACCESS_KEY_FILE": "/etc/airgap-registry/s3-access-key"} {
		if env["AIRGAP_REGISTRY_"+k] != v {
			t.Errorf("AIRGAP_REGISTRY_%s = %q, want %q", k, env["AIRGAP_REGISTRY_"+k], v)
		}
	}
	if _, ok := env["AIRGAP_REGISTRY_S3_SECRET_KEY"]; ok || pod.ImagePullSecrets != nil || pod.InitContainers != nil || pod.Affinity != nil {
		t.Errorf("secrets by file only, no pull secret without auth, no volume settings on S3: %v %+v", env, pod)
	}
}

// TestSecretDataIsStable: applying the same registry twice keeps the bcrypt hash and the HTTP
// secret, so the pod template, and the pod, stay the same; a new password changes them.
func TestSecretDataIsStable(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	r, _ := Registry{Image: "img", Username: "u", Password: "first"}.WithDefaults()
	d1, err := ensureSecretData(ctx, cs, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(r.Namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.secretName(), Namespace: r.Namespace}, Data: d1}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d2, err := ensureSecretData(ctx, cs, r)
	if err != nil || d2.digest() != d1.digest() {
		t.Fatalf("same settings, new secret data (%v)", err)
	}
	r.Password = "second"
	d3, _ := ensureSecretData(ctx, cs, r)
	_, hash, _ := cutLine(d3[keyHTPasswd])
	if d3.digest() == d1.digest() || bcrypt.CompareHashAndPassword(hash, []byte("second")) != nil || string(d3[keyHTTPSecret]) != string(d1[keyHTTPSecret]) {
		t.Fatal("a new password must give a new hash, and keep the HTTP secret")
	}
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	r := Registry{Image: "img"}
	squatter := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{NodePort: DefaultNodePort}}}}
	err := Preflight(ctx, fake.NewClientset(squatter), r)
	for _, want := range []string{"node port 31999 is taken by service shop/web", "no default storage class"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	def := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}}
	own := squatter.DeepCopy()
	own.Name, own.Namespace = DefaultName, DefaultNamespace
	if err := Preflight(ctx, fake.NewClientset(def, own), r); err != nil {
		t.Errorf("its own Service and a default class: %v", err)
	}
	r.Storage.Volume = &Volume{StorageClass: "fast"}
	if err := Preflight(ctx, fake.NewClientset(def), r); err == nil || !strings.Contains(err.Error(), `storage class "fast" does not exist`) {
		t.Errorf("got %v", err)
	}
}

// TestRolledOut reads the Deployment's status the way the controller writes it.
func TestRolledOut(t *testing.T) {
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: &one,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "new"}}}}}}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}
	if ok, why := rolledOut(d, "new"); ok || !strings.Contains(why, "1 old pods still running") {
		t.Errorf("old pod left: %v %s", ok, why)
	}
	d.Status.Replicas = 1
	if ok, _ := rolledOut(d, "new"); !ok {
		t.Error("complete rollout not seen")
	}
	if ok, _ := rolledOut(d, "other"); ok {
		t.Error("another image is not this rollout")
	}
	d.Status.ObservedGeneration = 1
	if ok, why := rolledOut(d, "new"); ok || !strings.Contains(why, "not seen the change") {
		t.Errorf("stale status: %v %s", ok, why)
	}
}
