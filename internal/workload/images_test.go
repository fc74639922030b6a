package workload

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// podSpec has an init container, a container and an ephemeral container.
const podSpec = `{initContainers: [{name: init, image: "example.com/init:1"}], containers: [{name: main, image: "example.com/app:1"}], ephemeralContainers: [{name: debug, image: "example.com/debug:1"}]}`

// podKinds has one object of every pod-template-bearing kind, each with podSpec where the kind
// keeps its pod spec.
var podKinds = strings.NewReplacer("POD", podSpec).Replace(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: POD
---
apiVersion: v1
kind: PodTemplate
metadata: {name: pt}
template: {spec: POD}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {template: {spec: POD}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {template: {spec: POD}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec: {template: {spec: POD}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec: {template: {spec: POD}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {template: {spec: POD}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec: {template: {spec: POD}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec: {jobTemplate: {spec: {template: {spec: POD}}}}
`)

// inCluster maps example.com/NAME:TAG to the test registry, pinned by a digest made from the name.
func inCluster(ref string) (string, error) {
	repo, _, ok := strings.Cut(strings.TrimPrefix(ref, "example.com/"), ":")
	if !ok || !strings.HasPrefix(ref, "example.com/") {
		return "", errors.New("not in the bundle")
	}
	return fmt.Sprintf("127.0.0.1:31999/%s@sha256:%064x", repo, len(repo)), nil
}

func TestRewriteImagesEveryKind(t *testing.T) {
	objs, err := Parse(File{Name: "kinds.yaml", Data: []byte(podKinds)})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := RewriteImages(objs, inCluster)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 9*3 {
		t.Fatalf("%d changes, want 27 (9 kinds, 3 containers each): %+v", len(changes), changes)
	}
	for i, o := range objs {
		got, err := ContainerImages(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{"init": "init", "main": "app", "debug": "debug"} {
			after, _ := inCluster("example.com/" + want + ":1")
			if got[name] != after {
				t.Errorf("%s: container %s: image %q, want %q", o.Ref(), name, got[name], after)
			}
		}
		for j, c := range changes[i*3 : i*3+3] {
			if c.Object != o.Ref() || c.Source != "kinds.yaml" || !strings.HasPrefix(c.Before, "example.com/") || c.After != got[c.Container] {
				t.Errorf("change %d of %s: %+v", j, o.Ref(), c)
			}
		}
	}
	// Rewriting the rewritten objects with a mapper that keeps in-cluster references changes nothing.
	again, err := RewriteImages(objs, func(ref string) (string, error) { return ref, nil })
	if err != nil || len(again) != 27 || again[0].Before != again[0].After {
		t.Errorf("second rewrite: %v %+v", err, again)
	}
}

func TestRewriteImagesLeavesOtherKinds(t *testing.T) {
	doc := `apiVersion: example.com/v1
kind: Deployment
metadata: {name: not-apps}
spec: {template: {spec: {containers: [{name: c, image: "elsewhere/x:1"}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {image: "elsewhere/x:1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: no-template}
spec: {}
`
	objs, err := Parse(File{Name: "other.yaml", Data: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := RewriteImages(objs, inCluster)
	if err != nil || len(changes) != 0 {
		t.Fatalf("got %v %+v, want no change", err, changes)
	}
}

func TestRewriteImagesErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{
			"an image the bundle lacks",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {spec: {containers: [{name: a, image: example.com/a:1}, {name: b, image: docker.io/b:2}]}}}\n",
			`Deployment.apps shop/web (app.yaml, document 1): container "b": image "docker.io/b:2": not in the bundle`,
		},
		{
			"no image",
			"---\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec: {jobTemplate: {spec: {template: {spec: {initContainers: [{name: prep}]}}}}}\n",
			`CronJob.batch nightly (app.yaml, document 2): container "prep" has no image`,
		},
		{
			"containers not a list",
			"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {name: a}}\n",
			`Pod p (app.yaml, document 1): spec.containers is not a list`,
		},
		{
			"template spec not an object",
			"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec: {template: {spec: [1]}}\n",
			`StatefulSet.apps s (app.yaml, document 1): spec.template.spec`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse(File{Name: "app.yaml", Data: []byte(tt.doc)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = RewriteImages(objs, inCluster)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := RewriteImages(nil, nil); err == nil {
		t.Error("a nil mapper was accepted")
	}
}

func TestMapper(t *testing.T) {
	const nginx = "127.0.0.1:31999/library/nginx@sha256:" + "1111111111111111111111111111111111111111111111111111111111111111"
	const app = "127.0.0.1:31999/team/app@sha256:" + "2222222222222222222222222222222222222222222222222222222222222222"
	m := Mapper(map[string]string{"docker.io/library/nginx:1.27": nginx, "registry.example/team/app:2": app})
	tests := []struct{ in, want, wantErr string }{
		{"docker.io/library/nginx:1.27", nginx, ""},
		{"nginx:1.27", nginx, ""},                         // normalised
		{"index.docker.io/library/nginx:1.27", nginx, ""}, // normalised
		{"registry.example/team/app:2", app, ""},
		{app, app, ""}, // already in-cluster
		{"nginx:1.28", "", "the bundle does not carry this image (it carries docker.io/library/nginx:1.27, registry.example/team/app:2)"},
		{"registry.example/team/app", "", "does not carry"}, // :latest is another image
	}
	for _, tt := range tests {
		got, err := m(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: got %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
