package provider

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

func TestEndpointLogNamesEveryEndpoint(t *testing.T) {
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	endpointLog(ctx, providerModel{
		Kubernetes:         &kubernetesModel{Kubeconfig: types.StringValue("/etc/enclave.kubeconfig"), Context: types.StringValue("prod")},
		RegistryAuth:       []registryAuthModel{{Host: types.StringValue("127.0.0.1:31999")}},
		FallbackRegistries: []fallbackRegistryModel{{Host: types.StringValue("mirror.enclave.internal:5000")}},
		ObjectStore:        &objectStoreModel{Service: &serviceRef{Namespace: types.StringValue("minio"), Name: types.StringValue("minio"), PortName: types.StringValue("api")}},
	})
	log := out.String()
	for _, want := range []string{"/etc/enclave.kubeconfig (context prod)", "registry 127.0.0.1:31999", "fallback registry mirror.enclave.internal:5000", "service minio/minio port api"} {
		if !strings.Contains(log, want) {
			t.Errorf("the endpoint log does not name %q:\n%s", want, log)
		}
	}
	out.Reset()
	endpointLog(ctx, providerModel{})
	if !strings.Contains(out.String(), `"endpoints":["kubernetes API through the in-cluster service account (only if a resource needs it)"]`) {
		t.Errorf("an empty configuration must name only the in-cluster API:\n%s", out.String())
	}
}
