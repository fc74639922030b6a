package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/openairgap/terraform-provider-airgap/"

// layers ranks the internal packages: a package may import packages of its own rank or lower.
// A new package must be placed here, which is the point.
var layers = map[string]int{
	"internal/provider": 3,
	"internal/bundle":   2, "internal/inject": 2, "internal/registry": 2, "internal/deploy": 2,
	"internal/workload": 2, "internal/receipt": 2,
	"internal/signing": 1, "internal/chart": 1, "internal/sample": 1, "internal/objstore": 1, "internal/kube": 1,
	"internal/archtest": 0,
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImportsFlowOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		self := strings.TrimPrefix(p.ImportPath, module)
		rank, ok := layers[topLevel(self)]
		if !ok {
			t.Errorf("%s is not placed in a layer: add it to layers in %s", self, "internal/archtest/imports_test.go")
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/hashicorp/terraform-plugin-") && rank != 3 {
				t.Errorf("%s imports %s: only internal/provider may use the plugin framework", self, imp)
			}
			if !strings.HasPrefix(imp, module+"internal/") {
				continue
			}
			dep := topLevel(strings.TrimPrefix(imp, module))
			if r, ok := layers[dep]; ok && r > rank {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must flow from the provider down", self, rank, dep, r)
			}
		}
	}
}

// topLevel is the internal package a path belongs to ("internal/bundle/x" -> "internal/bundle").
func topLevel(p string) string {
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 2 {
		return p
	}
	return parts[0] + "/" + parts[1]
}
