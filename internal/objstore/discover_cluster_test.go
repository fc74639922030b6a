package objstore

import (
	"context"
	"net"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openairgap/terraform-provider-airgap/test/cluster"
)

// TestClusterDiscovery discovers an object store through the real test cluster's API server: a
// Service whose S3 port is named, not numbered the usual way; then the override wins.
func TestClusterDiscovery(t *testing.T) {
	c := cluster.Require(t)
	ctx := context.Background()
	cs := c.Clientset()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "discovery-"}}
	ns, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	svc, err := cs.CoreV1().Services(ns.Name).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "minio"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "minio"}, Ports: []corev1.ServicePort{
			{Name: "console", Port: 9001}, {Name: "api", Port: 31337},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	d := &Discoverer{Namespace: ns.Name, Service: "minio", PortName: "api", EnvOverride: "AIRGAP_S3_ENDPOINT", Kube: cs,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	got, err := d.Endpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(31337)); got != want {
		t.Fatalf("discovered %s, want the ClusterIP and the port named api: %s", got, want)
	}
	if d.Status() != "ok" {
		t.Fatalf("status %q", d.Status())
	}
	env["AIRGAP_S3_ENDPOINT"] = "127.0.0.1:9000"
	if got, _ := d.Endpoint(ctx); got != "127.0.0.1:9000" {
		t.Fatalf("the override did not win: %s", got)
	}
}
