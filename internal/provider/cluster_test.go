package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/deploy"
	"github.com/openairgap/terraform-provider-airgap/internal/inject"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
	"github.com/openairgap/terraform-provider-airgap/test/cluster"
	"github.com/openairgap/terraform-provider-airgap/test/minio"
	"github.com/openairgap/terraform-provider-airgap/test/registry"
	"github.com/openairgap/terraform-provider-airgap/test/system"
)

// The cluster acceptance tests run terraform (or tofu) against the project's test cluster (make
// cluster-up): a real node holding only its pause image, egress denied. They need TF_ACC=1 and
// a cluster; scripts/test.sh runs them in its cluster phase under both tools.

// clusterAcc is one cluster acceptance test's world: the cluster, the system bundle and its
// key, and an application bundle carrying the toolbox image, signed by a vendor key.
type clusterAcc struct {
	c                 *cluster.Cluster
	cs                kubernetes.Interface
	systemBundle      string
	systemKey         string
	appBundle         string
	vendorKey         string
	toolboxRef        string // as the app bundle's BOM records it
	namespace, workNS string
}

func requireClusterAcc(t *testing.T) *clusterAcc {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests need TF_ACC=1")
	}
	c := cluster.Require(t)
	a := &clusterAcc{c: c, cs: c.Clientset()}
	a.systemBundle, a.systemKey = system.Bundle(t)

	// The connected side: the toolbox image in a registry, built into a signed bundle.
	src := registry.Start(t)
	img, err := tarball.ImageFromPath(c.ToolboxArchive(), nil)
	must(t, err)
	a.toolboxRef = src.Host + "/airgap-test/toolbox:1.0"
	ref, err := name.ParseReference(a.toolboxRef)
	must(t, err)
	must(t, remote.Write(ref, img))
	e := &env{t: t, dir: t.TempDir(), host: src.Host}
	priv, pub := e.key("vendor")
	pemBytes, err := os.ReadFile(priv)
	must(t, err)
	signer, err := signing.LoadPrivateKey(pemBytes, []byte("pw"))
	must(t, err)
	a.vendorKey, a.appBundle = pub, e.path("apps.tar")
	_, err = bundle.Build(t.Context(), bundle.Spec{Name: "apps", Version: "1.0.0", Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Output: a.appBundle, Images: []bundle.ImageSpec{{Ref: a.toolboxRef}}}, bundle.BuildOptions{Keys: []bundle.SigningKey{{Signer: signer}}})
	must(t, err)
	src.Stop() // the enclave has no connected registry

	a.namespace, a.workNS = "airgap-acc-"+randomSuffix(), "airgap-work-"+randomSuffix()
	_, err = a.cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.workNS}}, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { a.deleteNamespace(t, a.workNS) })
	t.Cleanup(func() { a.deleteNamespace(t, a.namespace) }) // only if a failure left it

	// Hold the fixed NodePorts (and the egress counters) for the whole test.
	c.GuardEgress(t)
	return a
}

func randomSuffix() string { return fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff) }

func (a *clusterAcc) deleteNamespace(t *testing.T, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := a.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Errorf("deleting namespace %s: %v", ns, err)
	}
	for ctx.Err() == nil {
		if _, err := a.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("namespace %s still there", ns)
}

// config is the enclave side: inject, run the registry on storage, mirror the app bundle.
func (a *clusterAcc) config(storage string) string {
	return fmt.Sprintf(`
provider "airgap" {
  kubernetes   = { kubeconfig = %[1]s }
  trusted_keys = [
    { name = "release", public_key = file(%[2]s) },
    { name = "vendor", public_key = file(%[3]s) },
  ]
}

resource "airgap_injection" "seed" {
  system_bundle = %[4]s
  namespace     = %[5]q
}

resource "airgap_registry" "r" {
  system_bundle          = %[4]s
  injection              = airgap_injection.seed.id
  namespace              = %[5]q
  storage                = %[7]s
  pull_secret_namespaces = [%[6]q]
}

resource "airgap_image_mirror" "apps" {
  bundle     = %[8]s
  registry   = airgap_registry.r.endpoint
  username   = airgap_registry.r.username
  password   = airgap_registry.r.password
  plain_http = true
}
`, hcl(a.c.Kubeconfig()), hcl(a.systemKey), hcl(a.vendorKey), hcl(a.systemBundle), a.namespace, a.workNS, storage, hcl(a.appBundle))
}

// runsWorkload runs the toolbox, as mirrored, in the work namespace with the registry's pull
// secret, and checks the kubelet pulled it from the registry.
func (a *clusterAcc) runsWorkload(t *testing.T) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs := s.RootModule().Resources["airgap_image_mirror.apps"].Primary.Attributes
		image := attrs["references."+a.toolboxRef]
		if !strings.HasPrefix(image, "127.0.0.1:31999/airgap-test/toolbox@sha256:") {
			return fmt.Errorf("mirrored reference %q", image)
		}
		_, digest, _ := strings.Cut(image, "@")
		a.c.ForgetImage(t, digest) // under any name: the pull below must fetch it
		a.c.RemoveImageOnCleanup(t, image)
		ctx := t.Context()
		_, err := a.cs.CoreV1().Pods(a.workNS).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "toolbox"},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: new(int64),
				ImagePullSecrets:              []corev1.LocalObjectReference{{Name: deploy.PullSecretName(deploy.DefaultName)}},
				Containers:                    []corev1.Container{{Name: "main", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		defer a.cs.CoreV1().Pods(a.workNS).Delete(context.WithoutCancel(ctx), "toolbox", metav1.DeleteOptions{})
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
			pod, err := a.cs.CoreV1().Pods(a.workNS).Get(ctx, "toolbox", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if pod.Status.Phase == corev1.PodRunning {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("workload pod not Running after 2m: %+v", pod.Status)
			}
		}
		evs, err := a.cs.CoreV1().Events(a.workNS).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("reason", "Pulled").String()})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(evs.Items, func(e corev1.Event) bool { return strings.Contains(e.Message, `pulled image "`+image+`"`) }) {
			return fmt.Errorf("no event says the kubelet pulled %s", image)
		}
		t.Logf("workload Running, pulled %s", image)
		return nil
	}
}

// injectionRetired checks the injector's objects are gone and the registry says why.
func (a *clusterAcc) injectionRetired(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		st, err := inject.Status(t.Context(), a.cs, a.namespace, inject.DefaultName)
		if err != nil {
			return err
		}
		if st.Exists() {
			return fmt.Errorf("the injection's objects are still there: %v", st.Objects)
		}
		ret, err := deploy.RetiredBy(t.Context(), a.cs, a.namespace, inject.DefaultName)
		if err != nil || ret == nil || ret.Registry != a.namespace+"/"+deploy.DefaultName {
			return fmt.Errorf("no registry records retiring the injection: %+v, %v", ret, err)
		}
		return nil
	}
}

// leftNothing checks destroy removed the namespace the injection created and the pull secret.
func (a *clusterAcc) leftNothing(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := t.Context()
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
			_, err := a.cs.CoreV1().Namespaces().Get(ctx, a.namespace, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("namespace %s still there after destroy (%v)", a.namespace, err)
			}
		}
		if _, err := a.cs.CoreV1().Secrets(a.workNS).Get(ctx, deploy.PullSecretName(deploy.DefaultName), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the pull secret copy in %s is still there (%v)", a.workNS, err)
		}
		return nil
	}
}

// TestClusterAccRegistryVolume: from an empty cluster, terraform (or tofu) injects, runs the
// registry on a volume, mirrors the app bundle, and a workload pulls from 127.0.0.1:31999.
func TestClusterAccRegistryVolume(t *testing.T) {
	a := requireClusterAcc(t)
	config := a.config(`{ volume = { size = "1Gi", fix_permissions = true } }`)
	start := time.Now()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             a.leftNothing(t),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// The approver sees, before anything happens, what the injector will serve and what the registry will run.
					plancheck.ExpectKnownValue("airgap_injection.seed", tfjsonpath.New("payload_digest"), knownvalue.StringRegexp(digestRE)),
					plancheck.ExpectKnownValue("airgap_injection.seed", tfjsonpath.New("registry_image"), knownvalue.StringRegexp(regexpMust(`^127\.0\.0\.1:31998/openairgap/registry@sha256:[0-9a-f]{64}$`))),
					plancheck.ExpectKnownValue("airgap_registry.r", tfjsonpath.New("registry_image"), knownvalue.StringRegexp(regexpMust(`^127\.0\.0\.1:31999/openairgap/registry@sha256:[0-9a-f]{64}$`))),
					plancheck.ExpectKnownValue("airgap_registry.r", tfjsonpath.New("signer_fingerprints"), knownvalue.ListSizeExact(1)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_registry.r", tfjsonpath.New("status"), knownvalue.StringExact("serving")),
					statecheck.ExpectKnownValue("airgap_registry.r", tfjsonpath.New("pull_secret"), knownvalue.StringExact("airgap-registry-pull")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(a.injectionRetired(t), a.runsWorkload(t)),
			},
			{
				// A second plan is empty: the retired injection is not recreated, nothing drifted.
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_injection.seed", tfjsonpath.New("status"), knownvalue.StringExact("retired")),
				},
			},
		},
	})
	t.Logf("apply, checks, second plan and destroy took %s", time.Since(start).Round(time.Millisecond))
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// TestClusterAccRegistryS3: the registry stores in a bucket of a MinIO running in the cluster,
// its endpoint discovered through the Kubernetes API from the Service's named port. Destroy
// leaves the bucket's data alone.
func TestClusterAccRegistryS3(t *testing.T) {
	a := requireClusterAcc(t)
	store := minio.InCluster(t, a.c, a.workNS, "registry")
	config := a.config(fmt.Sprintf(`{ s3 = {
    bucket         = "registry"
    root_directory = "enclave"
    service        = { namespace = %q, name = "minio", port_name = "s3" }
    insecure_http  = true
    access_key     = %q
    secret_key     = %q
  } }`, store.Namespace, minio.AccessKey, minio.SecretKey))
	blobs := "enclave/docker/registry/v2/blobs/"
	var stored int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(a.leftNothing(t), func(*terraform.State) error {
			if left := len(store.Keys(t, blobs)); left != stored {
				return fmt.Errorf("destroy touched the bucket: %d blobs before, %d after", stored, left)
			}
			return nil
		}),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_registry.r", tfjsonpath.New("status"), knownvalue.StringExact("serving")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(a.injectionRetired(t), a.runsWorkload(t), func(*terraform.State) error {
					// The registry's image and the toolbox, every blob in the bucket under the root directory.
					stored = len(store.Keys(t, blobs))
					t.Logf("%d objects under s3://registry/%s", stored, blobs)
					if stored < 6 {
						return fmt.Errorf("only %d objects under %s: the registry does not store in the bucket", stored, blobs)
					}
					return nil
				}),
			},
			{Config: config, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// TestClusterAccInjectionTamperedChunk replaces one chunk ConfigMap by hand (they are
// immutable, so an operator would delete and recreate it) while the apply uploads the others:
// the injector refuses to serve, the apply fails saying why, and nothing is left behind.
func TestClusterAccInjectionTamperedChunk(t *testing.T) {
	a := requireClusterAcc(t)
	config := fmt.Sprintf(`
provider "airgap" {
  kubernetes   = { kubeconfig = %s }
  trusted_keys = [{ name = "release", public_key = file(%s) }]
}
resource "airgap_injection" "seed" {
  system_bundle = %s
  namespace     = %q
}`, hcl(a.c.Kubeconfig()), hcl(a.systemKey), hcl(a.systemBundle), a.namespace)

	tampered := make(chan error, 1)
	go func() { tampered <- a.tamperChunk(t.Context(), inject.DefaultName+"-"+inject.ChunkName(1)) }()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)The injector refused to serve.*payload sha256 mismatch.*refusing\s+to\s+serve.*edited\s+or\s+replaced`),
		}},
	})
	if err := <-tampered; err != nil {
		t.Fatal(err)
	}
	left, err := inject.Status(t.Context(), a.cs, a.namespace, inject.DefaultName)
	if err != nil || left.Exists() {
		t.Errorf("the failed apply left %v (%v)", left, err)
	}
}

// tamperChunk waits for the chunk ConfigMap, then replaces it with one byte flipped, and
// checks it did so before the injector pod existed.
func (a *clusterAcc) tamperChunk(ctx context.Context, chunk string) error {
	cms := a.cs.CoreV1().ConfigMaps(a.namespace)
	for {
		cm, err := cms.Get(ctx, chunk, metav1.GetOptions{})
		if err == nil {
			for k, data := range cm.BinaryData {
				data[len(data)/2] ^= 0x01
				cm.BinaryData[k] = data
			}
			if err := cms.Delete(ctx, chunk, metav1.DeleteOptions{}); err != nil {
				return err
			}
			cm.ResourceVersion, cm.UID, cm.CreationTimestamp = "", "", metav1.Time{}
			if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				return err
			}
			if _, err := a.cs.CoreV1().Pods(a.namespace).Get(ctx, inject.DefaultName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("the injector pod existed before the chunk was replaced (%v): the test lost its race", err)
			}
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chunk %s never appeared", chunk)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
