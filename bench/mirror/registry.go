package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// distribution is a fresh CNCF Distribution registry (the real program) with filesystem storage
// in the cache directory, on the same disk as the bundle.
type distribution struct {
	host string
	dir  string
	cmd  *exec.Cmd
}

func startRegistry(bin, dir string) (*distribution, error) {
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: %s}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: 127.0.0.1:%d}
`, filepath.Join(dir, "data"), port)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	d := &distribution{host: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, cmd: exec.Command(bin, "serve", cfgPath)}
	d.cmd.Stdout, d.cmd.Stderr = log, log
	// Distribution v3 exports OpenTelemetry traces to localhost:4318 by default: not here.
	d.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get("http://" + d.host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return d, nil
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("registry did not start: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills the registry and deletes its storage.
func (d *distribution) stop() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
	os.RemoveAll(d.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hasManifest asks a registry whether repo holds a manifest by digest.
func hasManifest(host, repo, digest string) (bool, error) {
	req, err := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+digest, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", ociIndex+", "+ociManifest+", application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get("Docker-Content-Digest") == digest, nil
}

// ingest sends one file as one blob (POST, then a PUT of the whole body, which net/http sends
// with sendfile): the fastest the registry can take bytes in, hashing and storing them.
func ingest(host, path, digest string) error {
	resp, err := http.Post("http://"+host+"/v2/ingest/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST upload: %s", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, loc.String(), f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT blob: %s", resp.Status)
	}
	return nil
}

// cpu is the CPU time the registry process has spent, from /proc (clock ticks of 10 ms).
func (d *distribution) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields count from after its closing parenthesis.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
