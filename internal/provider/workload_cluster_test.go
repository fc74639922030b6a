package provider

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/receipt"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
	"github.com/openairgap/terraform-provider-airgap/internal/workload"
	"github.com/openairgap/terraform-provider-airgap/test/registry"
)

// workloadBundles builds two releases of a small application, each a signed bundle: a chart of
// two components and a set of manifests, every image the toolbox under its own name. v2 drops
// the chart's beta for gamma, and the manifests' ConfigMap.
func (a *clusterAcc) workloadBundles(t *testing.T, signer crypto.Signer) (v1, v2 string) {
	t.Helper()
	src := registry.Start(t)
	img, err := tarball.ImageFromPath(a.c.ToolboxArchive(), nil)
	must(t, err)
	for _, repo := range []string{"alpha", "beta", "gamma", "tool"} {
		ref, err := name.ParseReference(src.Host + "/shop/" + repo + ":1.0")
		must(t, err)
		must(t, remote.Write(ref, img))
	}
	dir := t.TempDir()
	build := func(version string, components map[string]string, withConfigMap bool) string {
		chartDir := filepath.Join(dir, version, "shop")
		must(t, os.MkdirAll(filepath.Join(chartDir, "templates"), 0o755))
		write := func(p, s string) { must(t, os.WriteFile(p, []byte(s), 0o644)) }
		write(filepath.Join(chartDir, "Chart.yaml"), "apiVersion: v2\nname: shop\nversion: "+version+"\n")
		values := "components:\n"
		for c, args := range components {
			values += fmt.Sprintf("  %s:\n    image: %s/shop/%s:1.0\n    args: %s\n", c, src.Host, c, args)
		}
		write(filepath.Join(chartDir, "values.yaml"), values)
		write(filepath.Join(chartDir, "templates", "deployments.yaml"), chartTemplate)
		manifests := filepath.Join(dir, version, "tool.yaml")
		m := fmt.Sprintf(toolManifest, src.Host)
		if withConfigMap {
			m += "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {greeting: hello}\n"
		}
		write(manifests, m)
		var images []bundle.ImageSpec
		for c := range components {
			images = append(images, bundle.ImageSpec{Ref: src.Host + "/shop/" + c + ":1.0"})
		}
		images = append(images, bundle.ImageSpec{Ref: src.Host + "/shop/tool:1.0"})
		out := filepath.Join(dir, "shop-"+version+".tar")
		_, err := bundle.Build(t.Context(), bundle.Spec{Name: "shop", Version: version, Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			Output: out, Images: images, Charts: []bundle.ChartSpec{{Path: chartDir}}, Manifests: []string{manifests}},
			bundle.BuildOptions{Keys: []bundle.SigningKey{{Signer: signer}}})
		must(t, err)
		return out
	}
	v1 = build("1.0.0", map[string]string{"alpha": `["serve"]`, "beta": `["sleep"]`}, true)
	v2 = build("2.0.0", map[string]string{"alpha": `["serve"]`, "gamma": `["sleep"]`}, false)
	src.Stop()
	return v1, v2
}

const chartTemplate = `{{- range $name, $c := .Values.components }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $.Release.Name }}-{{ $name }}
spec:
  selector: {matchLabels: {app: {{ $.Release.Name }}-{{ $name }}}}
  template:
    metadata: {labels: {app: {{ $.Release.Name }}-{{ $name }}}}
    spec:
      terminationGracePeriodSeconds: 1
      imagePullSecrets: [{name: airgap-registry-pull}]
      containers:
        - name: {{ $name }}
          image: {{ $c.image | quote }}
          args: {{ toJson $c.args }}
{{- end }}
`

const toolManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: tool}
spec:
  selector: {matchLabels: {app: tool}}
  template:
    metadata: {labels: {app: tool}}
    spec:
      terminationGracePeriodSeconds: 1
      imagePullSecrets: [{name: airgap-registry-pull}]
      containers: [{name: tool, image: "%s/shop/tool:1.0"}]
`

// TestClusterAccWorkloads: a chart of two images and a set of manifests from bundle v1, all
// pulled from 127.0.0.1:31999; upgrade to v2 (an image removed, one added, an object pruned);
// back to v1; an upgrade whose container crashes rolls back by itself, leaving no pending
// release; every apply leaves a receipt whose signature verifies.
func TestClusterAccWorkloads(t *testing.T) {
	a := requireClusterAcc(t)
	e := &env{t: t, dir: t.TempDir()}
	vendorPriv, _ := e.key("shop-vendor")
	pemBytes, err := os.ReadFile(vendorPriv)
	must(t, err)
	vendor, err := signing.LoadPrivateKey(pemBytes, []byte("pw"))
	must(t, err)
	pub, err := signing.EncodePublicKey(vendor.Public())
	must(t, err)
	vendorPub := e.write("shop-vendor.pub", string(pub))
	operatorPriv, operatorPub := e.key("operator")
	v1, v2 := a.workloadBundles(t, vendor)
	stream := "shop-" + randomSuffix()

	config := func(bundlePath, values string) string {
		return fmt.Sprintf(`
provider "airgap" {
  kubernetes   = { kubeconfig = %[1]s }
  trusted_keys = [
    { name = "release", public_key = file(%[2]s) },
    { name = "vendor", public_key = file(%[3]s) },
  ]
  receipts = {
    namespace   = %[5]q
    stream      = %[7]q
    operator    = "alice@enclave"
    signing_key = { private_key = file(%[8]s), password = "pw" }
  }
}

resource "airgap_injection" "seed" {
  system_bundle = %[4]s
  namespace     = %[5]q
}

resource "airgap_registry" "r" {
  system_bundle          = %[4]s
  injection              = airgap_injection.seed.id
  namespace              = %[5]q
  storage                = { volume = { size = "1Gi", fix_permissions = true } }
  pull_secret_namespaces = [%[6]q]
}

resource "airgap_image_mirror" "shop" {
  bundle     = %[9]s
  registry   = airgap_registry.r.endpoint
  username   = airgap_registry.r.username
  password   = airgap_registry.r.password
  plain_http = true
}

resource "airgap_manifest" "tools" {
  depends_on = [airgap_image_mirror.shop]
  name       = "tools"
  bundle     = %[9]s
  registry   = airgap_registry.r.endpoint
  namespace  = %[6]q
  timeout    = "2m"
}

resource "airgap_chart" "shop" {
  depends_on = [airgap_image_mirror.shop]
  name       = "shop"
  namespace  = %[6]q
  bundle     = %[9]s
  registry   = airgap_registry.r.endpoint
  values     = %[10]q
  timeout    = "90s"
}
`, hcl(a.c.Kubeconfig()), hcl(a.systemKey), hcl(vendorPub), hcl(a.systemBundle), a.namespace, a.workNS, stream, hcl(operatorPriv), hcl(bundlePath), values)
	}
	receipts := func(want int) resource.TestCheckFunc {
		return a.receiptsVerify(t, stream, operatorPub, want)
	}
	running := func(deployments ...string) resource.TestCheckFunc {
		return a.deploymentsFromRegistry(t, deployments...)
	}
	crash := `{"components":{"alpha":{"args":["no-such-command"]}}}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{
				Config: config(v1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("airgap_chart.shop", tfjsonpath.New("chart_version"), knownvalue.StringExact("1.0.0")),
					plancheck.ExpectKnownValue("airgap_chart.shop", tfjsonpath.New("manifest_digest"), knownvalue.StringRegexp(digestRE)),
					plancheck.ExpectKnownValue("airgap_chart.shop", tfjsonpath.New("images"), knownvalue.MapSizeExact(2)),
					plancheck.ExpectKnownValue("airgap_manifest.tools", tfjsonpath.New("objects"), knownvalue.ListSizeExact(2)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("airgap_chart.shop", tfjsonpath.New("revision"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("airgap_chart.shop", tfjsonpath.New("status"), knownvalue.StringExact("deployed")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(running("shop-alpha", "shop-beta", "tool"), receipts(2)),
			},
			{
				Config: config(v2, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("airgap_chart.shop", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("airgap_chart.shop", tfjsonpath.New("chart_version"), knownvalue.StringExact("2.0.0")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(running("shop-alpha", "shop-gamma", "tool"), a.gone(t, "shop-beta"), a.configMapGone(t, "settings"), receipts(4)),
			},
			{
				Config: config(v1, ""), // rolling back is applying the older bundle
				Check:  resource.ComposeAggregateTestCheckFunc(running("shop-alpha", "shop-beta", "tool"), a.gone(t, "shop-gamma"), receipts(6)),
			},
			{
				Config:      config(v1, crash),
				ExpectError: regexp.MustCompile(`(?s)The release failed.*CrashLoopBackOff|(?s)The release failed.*rolled back`),
			},
			{
				// After the failed upgrade the release is deployed again at v1, nothing pending: no change to make.
				Config:           config(v1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            resource.ComposeAggregateTestCheckFunc(a.releaseDeployed(t, "shop"), running("shop-alpha", "shop-beta", "tool"), receipts(6)),
			},
		},
	})
	// Destroy left a receipt for each workload removed.
	if err := a.receiptsVerify(t, stream, operatorPub, 8)(nil); err != nil {
		t.Error(err)
	}
}

// deploymentsFromRegistry checks each Deployment is available and its pods run images pulled
// from the in-cluster registry, pinned by digest.
func (a *clusterAcc) deploymentsFromRegistry(t *testing.T, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := t.Context()
		for _, n := range names {
			d, err := a.cs.AppsV1().Deployments(a.workNS).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if d.Status.AvailableReplicas < 1 {
				return fmt.Errorf("deployment %s: %d available", n, d.Status.AvailableReplicas)
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				if !strings.HasPrefix(c.Image, "127.0.0.1:31999/shop/") || !strings.Contains(c.Image, "@sha256:") {
					return fmt.Errorf("deployment %s runs %s, not from the in-cluster registry pinned by digest", n, c.Image)
				}
			}
		}
		pods, err := a.cs.CoreV1().Pods(a.workNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				continue
			}
			for _, st := range p.Status.ContainerStatuses {
				if !strings.HasPrefix(st.Image, "127.0.0.1:31999/") && !strings.HasPrefix(st.ImageID, "127.0.0.1:31999/") {
					return fmt.Errorf("pod %s runs %s (%s)", p.Name, st.Image, st.ImageID)
				}
			}
		}
		return nil
	}
}

func (a *clusterAcc) gone(t *testing.T, deployment string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if _, err := a.cs.AppsV1().Deployments(a.workNS).Get(t.Context(), deployment, metav1.GetOptions{}); err == nil {
			return fmt.Errorf("deployment %s is still there", deployment)
		}
		return nil
	}
}

func (a *clusterAcc) configMapGone(t *testing.T, cm string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if _, err := a.cs.CoreV1().ConfigMaps(a.workNS).Get(t.Context(), cm, metav1.GetOptions{}); err == nil {
			return fmt.Errorf("configmap %s, dropped from the manifests, was not pruned", cm)
		}
		return nil
	}
}

// releaseDeployed checks the release's newest revision is deployed and none is pending.
func (a *clusterAcc) releaseDeployed(t *testing.T, release string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		wc, err := workload.NewClient(a.c.RESTConfig())
		if err != nil {
			return err
		}
		st, err := wc.ReleaseStatus(t.Context(), a.workNS, release)
		if err != nil || st == nil {
			return fmt.Errorf("release %s: %+v, %v", release, st, err)
		}
		t.Logf("release %s: revision %d %s (%s)", release, st.Revision, st.Status, st.Description)
		if st.Status != "deployed" {
			return fmt.Errorf("release %s revision %d is %s", release, st.Revision, st.Status)
		}
		secrets, err := a.cs.CoreV1().Secrets(a.workNS).List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + release})
		if err != nil {
			return err
		}
		for _, s := range secrets.Items {
			if strings.HasPrefix(s.Labels["status"], "pending") {
				return fmt.Errorf("release record %s is %s", s.Name, s.Labels["status"])
			}
		}
		return nil
	}
}

// receiptsVerify lists the stream and checks it holds want receipts, chained, each signed by
// the operator's key.
func (a *clusterAcc) receiptsVerify(t *testing.T, stream, operatorPub string, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		pemBytes, err := os.ReadFile(operatorPub)
		if err != nil {
			return err
		}
		key, err := signing.ParsePublicKey(pemBytes)
		if err != nil {
			return err
		}
		policy := signing.Policy{Keys: []signing.TrustedKey{{Name: "operator", Key: key}}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		h, err := receipt.List(ctx, a.cs, receipt.Stream{Namespace: a.namespace, Name: stream}, receipt.ListOptions{Policy: &policy})
		if err != nil {
			return err
		}
		if err := h.Err(); err != nil {
			return fmt.Errorf("receipt history: %w", err)
		}
		if len(h.Entries) != want {
			return fmt.Errorf("%d receipts, want %d", len(h.Entries), want)
		}
		for _, e := range h.Entries {
			if e.Signature != "verified" {
				return fmt.Errorf("receipt %s: signature %s", e.Name, e.Signature)
			}
		}
		last := h.Entries[len(h.Entries)-1].Record.Receipt
		t.Logf("%d receipts verified; the last: %s %s, %d images, releases %+v", len(h.Entries), last.Action, last.Resource, len(last.Images), last.Releases)
		return nil
	}
}
