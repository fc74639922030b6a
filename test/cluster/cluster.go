// Package cluster gives end-to-end tests access to the single-node test cluster that
// test/cluster/up.sh starts (make cluster-up): its kubeconfig and clients, its node, the images on
// it, and the egress counters that show whether anything tried to leave the machine.
//
// Tests call Require, which skips the test when no cluster is up, or fails it when
// AIRGAP_REQUIRE_CLUSTER=1 (as CI sets). The cluster is found through AIRGAP_CLUSTER_DIR, by default
// $AIRGAP_CACHE/cluster, and AIRGAP_CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap,
// as in the scripts. Reading the counters runs iptables, so the tests run as root, like the cluster.
package cluster

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// EnvDir names the running cluster's directory.
	EnvDir = "AIRGAP_CLUSTER_DIR"
	// EnvRequire, set to 1, turns Require's skip into a failure.
	EnvRequire = "AIRGAP_REQUIRE_CLUSTER"
	// EnvCache is the cache root shared with the scripts.
	EnvCache = "AIRGAP_CACHE"
)

// Egress chains installed by egress.sh; each ends in one counting rule.
const (
	chainForward  = "AIRGAP-FORWARD"
	chainOutput   = "AIRGAP-OUTPUT"
	chainEgress   = "AIRGAP-EGRESS"
	chainServices = "AIRGAP-SERVICES"
	chainHost     = "AIRGAP-HOST"
	chainEnclave  = "AIRGAP-ENCLAVE"
)

// Cluster is a running test cluster.
type Cluster struct {
	dir       string
	env       map[string]string
	config    *rest.Config
	clientset kubernetes.Interface
}

var (
	openMu sync.Mutex
	opened = map[string]*Cluster{}
)

// DefaultDir is where the scripts put the cluster unless told otherwise.
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	cache := os.Getenv(EnvCache)
	if cache == "" {
		base, err := os.UserCacheDir() // $XDG_CACHE_HOME or $HOME/.cache
		if err != nil {
			base = filepath.Join(os.TempDir(), "cache")
		}
		cache = filepath.Join(base, "terraform-provider-airgap")
	}
	return filepath.Join(cache, "cluster")
}

// Require returns the running cluster. Without one it skips the test, or fails it when
// AIRGAP_REQUIRE_CLUSTER=1.
func Require(t testing.TB) *Cluster {
	t.Helper()
	c, err := Open(DefaultDir())
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("test cluster required (%s=1) but not usable: %v", EnvRequire, err)
		}
		t.Skipf("no test cluster: %v (start one with `make cluster-up`; %s=1 makes this a failure)", err, EnvRequire)
	}
	return c
}

// Open returns the cluster whose directory is dir, after checking that its API server answers.
func Open(dir string) (*Cluster, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if c, ok := opened[dir]; ok {
		return c, c.ready()
	}
	env, err := readEnv(filepath.Join(dir, "cluster.env"))
	if err != nil {
		return nil, fmt.Errorf("cluster directory %s: %w", dir, err)
	}
	c := &Cluster{dir: dir, env: env}
	if pid, err := os.ReadFile(filepath.Join(dir, "run", "kube-apiserver.pid")); err != nil {
		return nil, fmt.Errorf("cluster in %s is down (no kube-apiserver PID file)", dir)
	} else if p, err := strconv.Atoi(strings.TrimSpace(string(pid))); err != nil || syscall.Kill(p, 0) != nil {
		return nil, fmt.Errorf("cluster in %s is down (kube-apiserver not running)", dir)
	}
	c.config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig(), err)
	}
	c.config.QPS, c.config.Burst = 50, 100
	c.clientset, err = kubernetes.NewForConfig(c.config)
	if err != nil {
		return nil, err
	}
	if err := c.ready(); err != nil {
		return nil, err
	}
	opened[dir] = c
	return c, nil
}

func (c *Cluster) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := c.clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("API server of the cluster in %s not ready: %v", c.dir, err)
	}
	if strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("API server of the cluster in %s not ready: %s", c.dir, body)
	}
	return nil
}

// readEnv reads the KEY=VALUE lines up.sh writes.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, s.Err()
}

// Dir is the cluster's directory (certificates, configs, logs under logs/).
func (c *Cluster) Dir() string { return c.dir }

// Kubeconfig is the path of the admin kubeconfig (server https://127.0.0.1:6443, certificates embedded).
func (c *Cluster) Kubeconfig() string { return c.env["KUBECONFIG"] }

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Clientset returns an admin client.
func (c *Cluster) Clientset() kubernetes.Interface { return c.clientset }

// NodeName is the name of the one node.
func (c *Cluster) NodeName() string { return c.env["NODE_NAME"] }

// NodeAddress is the node's InternalIP: this machine's own address.
func (c *Cluster) NodeAddress() string { return c.env["NODE_IP"] }

// PodCIDR and ServiceCIDR are the address ranges that exist only inside this machine.
func (c *Cluster) PodCIDR() string     { return c.env["POD_CIDR"] }
func (c *Cluster) ServiceCIDR() string { return c.env["SERVICE_CIDR"] }

// KubernetesVersion is the version the cluster was built at, such as v1.34.4.
func (c *Cluster) KubernetesVersion() string { return c.env["KUBERNETES_VERSION"] }

// PauseImage is the sandbox image, present on the node from the start.
func (c *Cluster) PauseImage() string { return c.env["PAUSE_IMAGE"] }

// PreloadedImage is the ordinary image pre-loaded on the node (AIRGAP_CLUSTER_PRELOAD), or "".
func (c *Cluster) PreloadedImage() string { return c.env["PRELOADED_IMAGE"] }

// KubectlPath is the kubectl built with the cluster's binaries.
func (c *Cluster) KubectlPath() string { return filepath.Join(c.env["BIN_DIR"], "kubectl") }

// HTTPRegistryPorts are the 127.0.0.1 ports containerd pulls from over plain HTTP.
func (c *Cluster) HTTPRegistryPorts() []int {
	var ports []int
	for _, f := range strings.Fields(c.env["HTTP_REGISTRY_PORTS"]) {
		if p, err := strconv.Atoi(f); err == nil {
			ports = append(ports, p)
		}
	}
	return ports
}

// EnclaveGID is the group whose processes' connections outside the machine are rejected and
// counted by EnclavePackets while the cluster is up (see README.md, "Egress").
func (c *Cluster) EnclaveGID() uint32 {
	g, _ := strconv.ParseUint(c.env["ENCLAVE_GID"], 10, 32)
	return uint32(g)
}

// EnclaveSysProcAttr runs a command (as root) in the enclave group, for exec.Cmd.SysProcAttr.
func (c *Cluster) EnclaveSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(os.Getuid()), Gid: c.EnclaveGID(), Groups: []uint32{}}}
}

// EgressPackets is the number of packets from pods (or to service addresses) that would have left
// the machine and were rejected instead, since the cluster started. It first checks that the
// egress rules are in place and come first. Compare two readings across a test.
func (c *Cluster) EgressPackets(t testing.TB) uint64 {
	t.Helper()
	c.CheckEgressRules(t)
	return packets(t, chainEgress)
}

// ServicePackets counts packets to service addresses that kube-proxy did not translate (no
// endpoints, or not programmed yet), rejected as "connection refused".
func (c *Cluster) ServicePackets(t testing.TB) uint64 { t.Helper(); return packets(t, chainServices) }

// HostEgressPackets counts connection attempts by any process on this machine (not pods) to
// addresses outside it. Other work on the machine (a build fetching modules) counts too.
func (c *Cluster) HostEgressPackets(t testing.TB) uint64 { t.Helper(); return packets(t, chainHost) }

// EnclavePackets counts packets from processes in the enclave group (EnclaveGID) to addresses
// outside the machine; all of them were rejected.
func (c *Cluster) EnclavePackets(t testing.TB) uint64 { t.Helper(); return packets(t, chainEnclave) }

// GuardEgress holds the egress lock for the rest of the test (SerializeEgress) and fails the test
// if a packet tried to leave the machine meanwhile: the guard every end-to-end test wants.
func (c *Cluster) GuardEgress(t testing.TB) {
	t.Helper()
	c.SerializeEgress(t)
	before := c.EgressPackets(t)
	t.Cleanup(func() {
		if after := c.EgressPackets(t); after != before {
			t.Errorf("egress counter moved: %d -> %d packets tried to leave the machine", before, after)
		}
	})
}

// SerializeEgress makes the calling test the only one, across all test processes on this machine,
// that reads or moves the egress counters, until it ends: a test that asserts a counter did not move
// must not overlap a test that moves it on purpose (go test runs packages in parallel).
func (c *Cluster) SerializeEgress(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(c.dir, "run", "egress.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("egress lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("egress lock: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// CheckEgressRules fails the test unless the jumps to the egress chains are the first rules of
// FORWARD and OUTPUT (IPv4), so that no other rule can accept a packet before them.
func (c *Cluster) CheckEgressRules(t testing.TB) {
	t.Helper()
	for chain, target := range map[string]string{"FORWARD": chainForward, "OUTPUT": chainOutput} {
		out, err := exec.Command("iptables", "-w", "10", "-S", chain).CombinedOutput()
		if err != nil {
			t.Fatalf("iptables -S %s: %v: %s", chain, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) < 2 || !strings.HasSuffix(lines[1], "-j "+target) {
			t.Fatalf("the egress rules are not first in %s:\n%s", chain, out)
		}
	}
}

// packets sums the packet counters of a chain's rules other than LOG, IPv4 and IPv6.
func packets(t testing.TB, chain string) uint64 {
	t.Helper()
	var total uint64
	for _, cmd := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command(cmd, "-w", "10", "-t", "filter", "-nvxL", chain).CombinedOutput()
		if err != nil {
			if cmd == "ip6tables" {
				continue // no IPv6 on this machine
			}
			t.Fatalf("%s -L %s (are the egress rules installed?): %v: %s", cmd, chain, err, out)
		}
		n, err := sumPackets(string(out))
		if err != nil {
			t.Fatalf("%s -L %s: %v", cmd, chain, err)
		}
		total += n
	}
	return total
}

func sumPackets(listing string) (uint64, error) {
	var total uint64
	for i, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if i < 2 || len(f) < 3 || f[2] == "LOG" {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected line %q", line)
		}
		total += n
	}
	return total, nil
}

// ToolboxImage returns the name of an image on the node whose entrypoint is the toolbox program
// (`sleep` by default; `dial HOST:PORT [TIMEOUT]`): the pre-loaded image if there is one, else the
// toolbox archive imported under a name of this test's own, removed when the test ends. Pods must
// use imagePullPolicy Never.
func (c *Cluster) ToolboxImage(t testing.TB) string {
	t.Helper()
	if img := c.PreloadedImage(); img != "" {
		return img
	}
	name := "localhost/airgap-test/toolbox:" + randomSuffix()
	c.ImportImage(t, c.ToolboxArchive(), name)
	return name
}

// ToolboxArchive is the docker archive of the toolbox image, for ImportImage or to push to a
// registry.
func (c *Cluster) ToolboxArchive() string { return c.env["TOOLBOX_ARCHIVE"] }

// ToolboxBinary is the toolbox program built for this machine, to run on the host (for example
// in the enclave group).
func (c *Cluster) ToolboxBinary() string { return c.env["TOOLBOX_BINARY"] }

// ImportImage imports a docker archive of one image into the node's containerd under name, and
// removes that name when the test ends. Only name is created, whatever the archive calls the image.
func (c *Cluster) ImportImage(t testing.TB, archive, name string) {
	t.Helper()
	retagged, err := retag(archive, name)
	if err != nil {
		t.Fatalf("importing %s: %v", archive, err)
	}
	cmd := c.ctr("images", "import", "-")
	cmd.Stdin = bytes.NewReader(retagged)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ctr images import %s as %s: %v: %s", archive, name, err, out)
	}
	c.RemoveImageOnCleanup(t, name)
}

// RemoveImageOnCleanup removes the image name from the node when the test ends (for an image the
// test made the node pull). Register it before the cleanup that deletes the pods using it.
func (c *Cluster) RemoveImageOnCleanup(t testing.TB, name string) {
	t.Helper()
	t.Cleanup(func() {
		if err := c.removeImage(name); err != nil {
			t.Errorf("removing image %s from the node: %v", name, err)
		}
	})
}

// removeImage removes name and the references the CRI plugin added for it: REPO@DIGEST and the
// image ID (sha256:...), the latter only when no other name still uses the same manifest.
// ForgetImage removes from the node every image whose manifest (or index) digest is digest, under
// any name, and waits for the runtime to collect its content: the next pull of that digest must
// then fetch it from a registry. Content addressed by digest is shared between names, so a test
// that proves where a pull came from must start with the node not holding it.
func (c *Cluster) ForgetImage(t testing.TB, digest string) {
	t.Helper()
	out, err := c.ctr("images", "ls").Output()
	if err != nil {
		t.Fatalf("ctr images ls: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 3 && f[2] == digest {
			names = append(names, f[0])
		}
	}
	if len(names) == 0 {
		return
	}
	if out, err := c.ctr(append([]string{"images", "rm", "--sync"}, names...)...).CombinedOutput(); err != nil {
		t.Fatalf("ctr images rm %v: %v: %s", names, err, out)
	}
}

func (c *Cluster) removeImage(name string) error {
	out, err := c.ctr("images", "ls").Output()
	if err != nil {
		return fmt.Errorf("ctr images ls: %v", err)
	}
	refs := map[string]string{} // reference -> manifest digest
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 3 {
			refs[f[0]] = f[2]
		}
	}
	digest, ok := refs[name]
	if !ok {
		return nil
	}
	repo := name
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo = name[:i]
	}
	remove := []string{name}
	if _, ok := refs[repo+"@"+digest]; ok {
		remove = append(remove, repo+"@"+digest)
	}
	others := false
	for ref, d := range refs {
		if d == digest && !strings.HasPrefix(ref, "sha256:") && !slices.Contains(remove, ref) {
			others = true
		}
	}
	if !others {
		for ref, d := range refs {
			if d == digest && strings.HasPrefix(ref, "sha256:") {
				remove = append(remove, ref)
			}
		}
	}
	if out, err := c.ctr(append([]string{"images", "rm"}, remove...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("ctr images rm %v: %v: %s", remove, err, out)
	}
	return nil
}

// NodeImages lists the names of the images on the node (not the digest-only ones).
func (c *Cluster) NodeImages(t testing.TB) []string {
	t.Helper()
	out, err := c.ctr("images", "ls", "-q").Output()
	if err != nil {
		t.Fatalf("ctr images ls: %v", err)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if !strings.HasPrefix(n, "sha256:") {
			names = append(names, n)
		}
	}
	return names
}

func (c *Cluster) ctr(args ...string) *exec.Cmd {
	return exec.Command("ctr", append([]string{"--address", c.env["CONTAINERD_SOCKET"], "--namespace", c.env["CONTAINERD_NAMESPACE"]}, args...)...)
}

// retag copies a docker archive, replacing the image names in its manifest.json with name.
func retag(archive, name string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out bytes.Buffer
	tr, tw := tar.NewReader(f), tar.NewWriter(&out)
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if h.Name == "manifest.json" {
			var m []map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
			if len(m) != 1 {
				return nil, fmt.Errorf("manifest.json describes %d images, want 1", len(m))
			}
			m[0]["RepoTags"] = []string{name}
			if body, err = json.Marshal(m); err != nil {
				return nil, err
			}
			h.Size = int64(len(body))
			found = true
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, errors.New("not a docker archive (no manifest.json)")
	}
	return out.Bytes(), tw.Close()
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
