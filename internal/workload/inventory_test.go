package workload

import (
	"reflect"
	"testing"
)

func entry(kind, ns, name string) Entry {
	group := ""
	if kind == "Deployment" {
		group = "apps"
	}
	return Entry{ObjectRef: ObjectRef{Group: group, Version: "v1", Kind: kind, Namespace: ns, Name: name}}
}

func TestDroppedAndUnion(t *testing.T) {
	web, cm, extra := entry("Deployment", "shop", "web"), entry("ConfigMap", "shop", "settings"), entry("ConfigMap", "shop", "extra")
	moved := entry("ConfigMap", "other", "settings") // same name, other namespace: another object
	newVersion := web
	newVersion.Version = "v2" // same object, read at another version
	tests := []struct {
		name         string
		old, current []Entry
		wantDropped  []Entry
		wantUnion    []Entry
	}{
		{"first apply", nil, []Entry{web, cm}, nil, []Entry{web, cm}},
		{"nothing dropped", []Entry{web, cm}, []Entry{cm, web}, nil, []Entry{cm, web}},
		{"one dropped", []Entry{web, extra, cm}, []Entry{web, cm}, []Entry{extra}, []Entry{web, cm, extra}},
		{"moved to another namespace", []Entry{cm}, []Entry{moved}, []Entry{cm}, []Entry{moved, cm}},
		{"a new API version is the same object", []Entry{web}, []Entry{newVersion}, nil, []Entry{newVersion}},
		{"all dropped", []Entry{web, cm}, nil, []Entry{web, cm}, []Entry{web, cm}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dropped(tt.old, tt.current); !reflect.DeepEqual(got, tt.wantDropped) {
				t.Errorf("dropped = %v, want %v", got, tt.wantDropped)
			}
			if got := union(tt.current, tt.old); !reflect.DeepEqual(got, tt.wantUnion) {
				t.Errorf("union = %v, want %v", got, tt.wantUnion)
			}
		})
	}
}

func TestImageDrift(t *testing.T) {
	e := entry("Deployment", "shop", "web")
	e.Images = map[string]string{"web": "r/web@sha256:1", "sidecar": "r/side@sha256:2"}
	got := imageDrift(e, map[string]string{"web": "docker.io/web:latest", "debug": "busybox"})
	want := []ImageDrift{
		{Object: e.ObjectRef, Container: "debug", Want: "", Got: "busybox"},
		{Object: e.ObjectRef, Container: "sidecar", Want: "r/side@sha256:2", Got: ""},
		{Object: e.ObjectRef, Container: "web", Want: "r/web@sha256:1", Got: "docker.io/web:latest"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	live := &Live{Images: got, Missing: []ObjectRef{entry("ConfigMap", "shop", "settings").ObjectRef}}
	sentences := live.Differences()
	wantSentences := []string{
		"ConfigMap shop/settings is missing",
		`Deployment.apps shop/web: container "debug" (image busybox) was added`,
		`Deployment.apps shop/web: container "sidecar" (image r/side@sha256:2) is gone`,
		`Deployment.apps shop/web: container "web" runs docker.io/web:latest instead of r/web@sha256:1`,
	}
	if !reflect.DeepEqual(sentences, wantSentences) || !live.Drifted() {
		t.Errorf("got %q", sentences)
	}
	if imageDrift(e, e.Images) != nil {
		t.Error("drift reported for identical images")
	}
}
