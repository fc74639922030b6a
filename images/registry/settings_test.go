package main

import (
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestSettingsDefaultsEnvAndFlags(t *testing.T) {
	s, err := parseSettings(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.addr != ":5000" || s.storage != "filesystem" || s.root != "/var/lib/registry" || s.htpasswd != "" || s.uploadPurging {
		t.Errorf("defaults: %+v", s)
	}
	s, err = parseSettings([]string{"-addr", "127.0.0.1:6000"}, env(map[string]string{
		"AIRGAP_REGISTRY_ADDR": ":7000", "AIRGAP_REGISTRY_ROOT": "/data", "AIRGAP_REGISTRY_UPLOAD_PURGING": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.addr != "127.0.0.1:6000" || s.root != "/data" || !s.uploadPurging {
		t.Errorf("a flag wins over its variable, a variable over the default: %+v", s)
	}
}

func TestSettingsS3CredentialsFromFiles(t *testing.T) {
	access, secret := writeFile(t, "access", "AKIDEXAMPLE\n"), writeFile(t, "secret", "  wJalrXUtnFEMI \n")
	s, err := parseSettings(nil, env(map[string]string{
		"AIRGAP_REGISTRY_STORAGE": "s3", "AIRGAP_REGISTRY_S3_BUCKET": "images", "AIRGAP_REGISTRY_S3_ENDPOINT": "http://minio:9000",
		"AIRGAP_REGISTRY_S3_FORCE_PATH_STYLE": "1", "AIRGAP_REGISTRY_S3_SECURE": "false",
		"AIRGAP_REGISTRY_S3_ACCESS_KEY_FILE": access, "AIRGAP_REGISTRY_S3_SECRET_KEY_FILE": secret,
		"AIRGAP_REGISTRY_S3_ACCESS_KEY": "ignored when the file is given",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := s.configuration().Storage
	want := map[string]any{
		"bucket": "images", "regionendpoint": "http://minio:9000", "region": "us-east-1", "forcepathstyle": true,
		"secure": false, "accesskey": "AKIDEXAMPLE", "secretkey": "wJalrXUtnFEMI",
	}
	for k, v := range want {
		if p["s3"][k] != v {
			t.Errorf("s3 parameter %s = %#v, want %#v", k, p["s3"][k], v)
		}
	}
	if p["redirect"]["disable"] != true || p["delete"]["enabled"] != true {
		t.Errorf("redirects must be off and delete on: %v", p)
	}
	if purge := p["maintenance"]["uploadpurging"].(map[any]any); purge["enabled"] != false {
		t.Errorf("upload purging is on by default: %v", purge)
	}
	if p.Type() != "s3" {
		t.Errorf("storage type %q", p.Type())
	}
}

func TestSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"unknown storage", nil, map[string]string{"AIRGAP_REGISTRY_STORAGE": "inmemory"}, "want filesystem or s3"},
		{"s3 without bucket", []string{"-storage", "s3"}, nil, "bucket"},
		{"one S3 key only", nil, map[string]string{"AIRGAP_REGISTRY_STORAGE": "s3", "AIRGAP_REGISTRY_S3_BUCKET": "b", "AIRGAP_REGISTRY_S3_ACCESS_KEY": "a"}, "both"},
		{"missing key file", nil, map[string]string{"AIRGAP_REGISTRY_S3_SECRET_KEY_FILE": "/nonexistent/secret"}, "S3_SECRET_KEY_FILE"},
		{"certificate without key", []string{"-tls-cert", "c.pem"}, nil, "TLS"},
		// Distribution would create a missing htpasswd file with a random user.
		{"missing htpasswd", []string{"-htpasswd", "/nonexistent/htpasswd"}, nil, "htpasswd"},
		{"bad boolean", nil, map[string]string{"AIRGAP_REGISTRY_S3_SECURE": "yes please"}, "true or false"},
		{"no secrets on the command line", []string{"-s3-secret-key", "x"}, nil, "not defined"},
		{"arguments", []string{"serve", "config.yml"}, nil, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSettings(tc.args, env(tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
