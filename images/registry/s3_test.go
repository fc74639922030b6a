package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	minioUser     = "airgap-test"
	minioPassword = "airgap-test-secret"
	bucket        = "registry"
)

// With S3 storage on a real MinIO, push and pull work, every request goes to the registry (no
// redirect to the object store), and the blobs are in the bucket under the root directory.
func TestS3StorageOnMinIO(t *testing.T) {
	endpoint := startMinIO(t)
	client := s3.New(session.Must(session.NewSession(&aws.Config{
		Endpoint: aws.String("http://" + endpoint), Region: aws.String("us-east-1"), S3ForcePathStyle: aws.Bool(true),
		Credentials: credentials.NewStaticCredentials(minioUser, minioPassword, ""),
	})))
	if _, err := client.CreateBucket(&s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("creating the bucket: %v", err)
	}

	r := startRegistry(t, map[string]string{
		"AIRGAP_REGISTRY_STORAGE":             "s3",
		"AIRGAP_REGISTRY_S3_ENDPOINT":         "http://" + endpoint,
		"AIRGAP_REGISTRY_S3_BUCKET":           bucket,
		"AIRGAP_REGISTRY_S3_ROOT_DIRECTORY":   "/airgap",
		"AIRGAP_REGISTRY_S3_FORCE_PATH_STYLE": "true",
		"AIRGAP_REGISTRY_S3_SECURE":           "false",
		"AIRGAP_REGISTRY_S3_ACCESS_KEY_FILE":  writeFile(t, "access-key", minioUser),
		"AIRGAP_REGISTRY_S3_SECRET_KEY_FILE":  writeFile(t, "secret-key", minioPassword),
	}, "http", http.DefaultClient)

	rec := newRecorder(http.DefaultTransport)
	pushPull(t, r.addr+"/team/app:1.0", remote.WithTransport(rec))
	for host, n := range rec.hosts {
		if host != r.addr {
			t.Errorf("%d requests went to %s, not the registry %s", n, host, r.addr)
		}
	}
	for code, n := range rec.codes {
		if code >= 300 && code < 400 {
			t.Errorf("%d responses were redirects (%d)", n, code)
		}
	}

	out, err := client.ListObjectsV2(&s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("airgap/docker/registry/v2/blobs/")})
	if err != nil {
		t.Fatal(err)
	}
	// Two images of two layers and a config each, two manifests and the index: 9 blobs.
	if n := len(out.Contents); n < 9 {
		t.Errorf("%d blobs in s3://%s/airgap/, want at least 9", n, bucket)
	}
	if strings.Contains(r.out.String(), minioPassword) {
		t.Error("the secret key appears in the registry's log")
	}
}

// startMinIO runs the MinIO server that scripts/tools.sh builds, on free 127.0.0.1 ports with a
// temporary data directory, and returns its S3 endpoint once it serves requests.
func startMinIO(t *testing.T) string {
	t.Helper()
	bin := minioPath(t)
	dir := t.TempDir()
	endpoint := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "server", "--quiet", "--address", endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)), filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	// live answers once MinIO listens; cluster once it can serve S3 requests.
	deadline := time.Now().Add(60 * time.Second)
	for _, check := range []string{"live", "cluster"} {
		for {
			resp, err := http.Get("http://" + endpoint + "/minio/health/" + check)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-exited:
				t.Fatalf("minio exited while starting:\n%s", log)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("minio was not ready (/minio/health/%s) in 60s:\n%s", check, log)
			}
		}
	}
	return endpoint
}

// minioPath finds MinIO: $MINIO_BIN, or scripts/tools.sh's cached build (building it if needed).
// Without it the test is skipped, unless AIRGAP_REQUIRE_TOOLS=1, where it fails.
func minioPath(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("MINIO_BIN"); bin != "" {
		return bin
	}
	out, err := exec.Command("bash", "../../scripts/tools.sh", "path", "minio").Output()
	if err == nil {
		return strings.TrimSpace(string(out))
	}
	msg := fmt.Sprintf("MinIO is not available (scripts/tools.sh path minio): %v", err)
	if ee, ok := err.(*exec.ExitError); ok {
		msg += "\n" + string(ee.Stderr)
	}
	if os.Getenv("AIRGAP_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
