package workload

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []string // Where() of each object
		wantErr string
	}{
		{
			name: "documents, empty ones skipped",
			data: "---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n" +
				"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: shop}\n",
			want: []string{"ConfigMap a (app.yaml, document 2)", "Deployment.apps shop/b (app.yaml, document 4)"},
		},
		{
			name: "a List is expanded",
			data: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n- {apiVersion: v1, kind: Secret, metadata: {name: t}}\n",
			want: []string{"Service s (app.yaml, document 1, item 1)", "Secret t (app.yaml, document 1, item 2)"},
		},
		{
			name: "a typed List too",
			data: "apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
			want: []string{"ConfigMap c (app.yaml, document 1, item 1)"},
		},
		{
			name: "JSON",
			data: `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}`,
			want: []string{"Namespace shop (app.yaml, document 1)"},
		},
		{
			name: "Helm's source comments name the template",
			data: "---\n# Source: demo/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n" +
				"---\n# Source: demo/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n" +
				"---\n# Source: demo/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			want: []string{"ConfigMap a (demo/templates/a.yaml, document 1)", "ConfigMap b (demo/templates/b.yaml, document 1)", "ConfigMap c (demo/templates/b.yaml, document 2)"},
		},
		{
			name: "a text before the first separator counts, an indented --- is content",
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: |\n    ---\n    y\n--- # next\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
			want: []string{"ConfigMap a (app.yaml, document 1)", "ConfigMap b (app.yaml, document 2)"},
		},
		{
			name: "a source header alone names the documents after it",
			data: "---\n# Source: demo/templates/a.yaml\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
			want: []string{"ConfigMap a (demo/templates/a.yaml, document 1)", "ConfigMap b (demo/templates/a.yaml, document 2)"},
		},
		{name: "bad YAML", data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n", wantErr: "app.yaml: document 2: not valid YAML"},
		{name: "a scalar", data: "---\nhello\n", wantErr: "app.yaml: document 1: not a Kubernetes object"},
		{name: "no kind", data: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "app.yaml: document 1: kind is missing"},
		{name: "no apiVersion", data: "kind: ConfigMap\nmetadata: {name: a}\n", wantErr: "app.yaml: document 1: apiVersion is missing"},
		{name: "no name", data: "---\n---\napiVersion: v1\nkind: ConfigMap\n", wantErr: "app.yaml: document 2: ConfigMap has no metadata.name"},
		{name: "generateName", data: "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: x-}\n", wantErr: "fixed metadata.name"},
		{name: "a List item without a name", data: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s}}\n- {apiVersion: v1, kind: Secret}\n", wantErr: "app.yaml: document 1: item 2: Secret has no metadata.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse(File{Name: "app.yaml", Data: []byte(tt.data)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Where())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
