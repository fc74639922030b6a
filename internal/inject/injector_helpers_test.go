package inject

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The injector is built once per test run, into a temporary directory, by
// the same script a release uses (injector/build.sh).
var (
	buildDir  string
	buildOnce = map[string]*sync.Once{"host": {}, "arm64": {}}
	builds    = map[string]builtInjector{}
)

type builtInjector struct {
	path, skip string
	err        error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// hostInjector returns the injector for this machine's architecture. It
// skips only when the toolchain is missing and AIRGAP_REQUIRE_INJECTOR is
// not 1 (CI sets it, so that a missing toolchain fails there).
func hostInjector(t *testing.T) string {
	t.Helper()
	target, compilerVar, compiler := "amd64", "CC_AMD64", "musl-gcc"
	if runtime.GOARCH == "arm64" {
		target, compilerVar, compiler = "arm64", "CC_ARM64", "gcc"
	} else if runtime.GOARCH != "amd64" {
		t.Skipf("the injector is built for amd64 and arm64 only, not %s", runtime.GOARCH)
	}
	return buildInjector(t, "host", []string{"make", "gcc", compiler}, target, compilerVar+"="+compiler)
}

func buildInjector(t *testing.T, key string, tools []string, makeArgs ...string) string {
	t.Helper()
	buildOnce[key].Do(func() { builds[key] = runBuild(tools, makeArgs) })
	b := builds[key]
	if b.err != nil {
		t.Fatal(b.err)
	}
	if b.skip != "" {
		t.Skip(b.skip)
	}
	return b.path
}

func runBuild(tools, makeArgs []string) builtInjector {
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("injector toolchain missing (%s): run injector/deps.sh", strings.Join(missing, ", "))
		if os.Getenv("AIRGAP_REQUIRE_INJECTOR") == "1" {
			return builtInjector{err: errors.New(msg + "; AIRGAP_REQUIRE_INJECTOR=1 forbids skipping")}
		}
		return builtInjector{skip: msg}
	}
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "airgap-injector-")
		if err != nil {
			return builtInjector{err: err}
		}
		buildDir = dir
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "injector", "build.sh"))
	if err != nil {
		return builtInjector{err: err}
	}
	out, err := exec.Command(script, append(makeArgs, "BIN="+buildDir)...).CombinedOutput()
	if err != nil {
		return builtInjector{err: fmt.Errorf("building the injector: %w\n%s", err, out)}
	}
	return builtInjector{path: filepath.Join(buildDir, "injector-linux-"+makeArgs[0])}
}

// writeChunks splits payload into dir the way ConfigMap volumes present it.
func writeChunks(t *testing.T, payload []byte, chunkSize int) string {
	t.Helper()
	dir := t.TempDir()
	for c, err := range Chunks(bytes.NewReader(payload), chunkSize) {
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.Name), c.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type runningInjector struct {
	addr string
	mu   sync.Mutex
	log  strings.Builder
}

func (r *runningInjector) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

var listeningRE = regexp.MustCompile(`listening on (\S+)$`)

// startInjector runs argv on a kernel-chosen port of 127.0.0.1 and waits
// until it listens. Its process group (server and per-connection children)
// is killed when the test ends.
func startInjector(t *testing.T, argv ...string) *runningInjector {
	t.Helper()
	cmd := exec.Command(argv[0], append(argv[1:], "--listen", "127.0.0.1:0")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr // a file, so that Wait never waits for children holding it
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	r := &runningInjector{}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.mu.Lock()
			r.log.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
	}()
	select {
	case r.addr = <-ready:
		return r
	case <-time.After(60 * time.Second):
		errText, _ := os.ReadFile(stderr.Name())
		t.Fatalf("injector did not listen within 60s; stdout:\n%s\nstderr:\n%s", r.logText(), errText)
		return nil
	}
}

// testPayload is a two-platform index and a plain image, as chunks on disk.
type testPayload struct {
	index        v1.ImageIndex
	image        v1.Image
	digest, dir  string
	payloadBytes []byte
}

func newTestPayload(t *testing.T) testPayload {
	t.Helper()
	p := testPayload{index: multiPlatformIndex(t, 20_000), image: randomImage(t, 30_000, 2)}
	var buf bytes.Buffer
	var err error
	p.digest, _, err = WritePayload(&buf, []PayloadImage{
		{Repository: "airgap/registry", Tag: "3", Index: p.index},
		{Repository: "airgap/tools", Tag: "v1", Image: p.image},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.payloadBytes = buf.Bytes()
	p.dir = writeChunks(t, p.payloadBytes, 16<<10) // many small chunks exercise reassembly
	return p
}

func compareImages(t *testing.T, want, got v1.Image) {
	t.Helper()
	if digestOf(t, got) != digestOf(t, want) {
		t.Fatalf("image digest %s, want %s", digestOf(t, got), digestOf(t, want))
	}
	wantLayers, err := want.Layers()
	if err != nil {
		t.Fatal(err)
	}
	gotLayers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(gotLayers) != len(wantLayers) {
		t.Fatalf("%d layers, want %d", len(gotLayers), len(wantLayers))
	}
	for i := range wantLayers {
		if !bytes.Equal(compressedBytes(t, gotLayers[i]), compressedBytes(t, wantLayers[i])) {
			t.Errorf("layer %d differs", i)
		}
	}
}

func compressedBytes(t *testing.T, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	*http.Response
	body []byte
}

func request(t *testing.T, method, url string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, body}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func flipByte(file string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		path := filepath.Join(dir, file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x01
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func removeFile(file string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
	}
}

// replaceWith leaves a single chunk holding content.
func replaceWith(content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, ChunkName(0)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
