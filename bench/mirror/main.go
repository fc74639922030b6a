// Command mirror measures the mirror engine against its peers on the same machine in one run,
// each into a fresh CNCF Distribution registry with filesystem storage on the same disk: our
// Mirror from the bundle file (verified first, as the provider does, so its reads are checked
// against the verification's seal; and once more unverified, hashing SHA-256 as it streams),
// `crane push --index` of the bundle's OCI layout, `crane copy` and
// `skopeo copy --all` per image from a registry, the registry's raw ingest rate, and a no-op
// re-run of our Mirror. It prints a table with ratios; it asserts nothing. Run it with
// bench/mirror/run.sh.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
)

type config struct {
	dir              string
	total            int64
	images           int
	registry, crane  string
	skopeo           string
	jobs             int
	skipSlow         bool
	profile          string
	rounds           int
	bundlePath, lout string
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", filepath.Join(os.TempDir(), "airgap-bench-mirror"), "work directory; the corpus, bundle and layout are kept there between runs")
	flag.Int64Var(&c.total, "bytes", 1100<<20, "unique layer bytes in the corpus")
	flag.IntVar(&c.images, "images", 12, "images in the corpus (every third a two-platform index)")
	flag.StringVar(&c.registry, "registry", "", "the Distribution registry binary (scripts/tools.sh path registry)")
	flag.StringVar(&c.crane, "crane", "", "the crane binary (scripts/tools.sh path crane)")
	flag.StringVar(&c.skopeo, "skopeo", "skopeo", "the skopeo binary")
	flag.IntVar(&c.jobs, "jobs", registry.DefaultJobs, "parallel blob uploads of our Mirror")
	flag.BoolVar(&c.skipSlow, "ours-only", false, "measure our Mirror (sealed and unsealed), the no-op re-run and the raw ingest only")
	flag.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of our Mirror in the first round to this file")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of every contender; the table shows each one's fastest (the machine is shared)")
	flag.Parse()
	if c.registry == "" || (c.crane == "" && !c.skipSlow) {
		log.Fatal("give -registry and -crane (run.sh does)")
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

// row is one contender's time into a fresh registry.
type row struct {
	name      string
	d         time.Duration
	bytes     int64
	identical string // whether every image is in the target under the BOM's digest
	// client and server are the CPU seconds the pushing side and the registry spent.
	client, server time.Duration
}

func run(c config) error {
	ctx := context.Background()
	shape := fmt.Sprintf("%d-%d", c.total, c.images)
	corp, err := makeCorpus(filepath.Join(c.dir, "corpus-"+shape), c.total, c.images)
	if err != nil {
		return err
	}
	key, policy, err := benchKeys(c.dir)
	if err != nil {
		return err
	}
	c.bundlePath = filepath.Join(c.dir, "bundle-"+shape+".tar")
	if err := buildBundle(corp, c.bundlePath, key); err != nil {
		return err
	}
	b, err := bundle.Open(c.bundlePath, policy)
	if err != nil {
		return err
	}
	defer b.Close()
	unsealed, err := bundle.Open(c.bundlePath, policy) // never verified: no seal
	if err != nil {
		return err
	}
	defer unsealed.Close()
	c.lout = filepath.Join(c.dir, "layout-"+shape)
	if err := extractLayout(b, c.lout); err != nil {
		return err
	}
	// Warm the page cache so that every contender reads from memory.
	bundleDigest, err := fileDigest(c.bundlePath)
	if err != nil {
		return err
	}
	if err := warm(c.lout); err != nil {
		return err
	}
	t0 := time.Now()
	if err := b.VerifyPayload(ctx); err != nil {
		return err
	}
	verify := time.Since(t0)
	unique := uniqueBlobBytes(b)
	indexes := 0
	for _, img := range b.BOM.Images {
		if len(img.Platforms) > 1 {
			indexes++
		}
	}
	fmt.Printf("corpus: %d images (%d multi-platform indexes), %d blobs, %.0f MB of unique blobs; bundle %.0f MB\n",
		len(b.BOM.Images), indexes, blobCount(b), float64(unique)/1e6, float64(b.TotalSize())/1e6)

	best := map[string]row{}
	var order []string
	var fastest oursResult
	var worstNoop noopResult
	for r := 0; r < c.rounds; r++ {
		rows, ours, noop, err := round(ctx, c, b, unsealed, corp, bundleDigest, r == 0)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if prev, ok := best[row.name]; !ok || row.d < prev.d {
				if !ok {
					order = append(order, row.name)
				}
				best[row.name] = row
			}
		}
		if r == 0 || ours.d < fastest.d {
			fastest = ours
		}
		if r == 0 || noop.res.Duration > worstNoop.res.Duration {
			worstNoop = noop
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", r+1, c.rounds)
	}
	var rows []row
	for _, name := range order {
		rows = append(rows, best[name])
	}
	printTable(rows, c.rounds)
	fmt.Printf("\nno-op re-run of our Mirror (slowest of %d): %.3f s engine time, %d blob bytes read, %d blob requests, %d manifests pushed (goal <= 0.2 s and zero blob reads)\n",
		c.rounds, worstNoop.res.Duration.Seconds(), worstNoop.res.BytesRead, worstNoop.blobRequests, worstNoop.res.ManifestsPushed)
	fmt.Printf("our Mirror (sealed, fastest round): %d blobs uploaded, %d mounted, %d skipped, %.0f MB sent; survey %.3f s, blobs %.3f s, manifests %.3f s\n",
		fastest.res.BlobsUploaded, fastest.res.BlobsMounted, fastest.res.BlobsSkipped, float64(fastest.res.BytesSent)/1e6,
		fastest.res.Survey.Seconds(), fastest.res.Blobs.Seconds(), fastest.res.Manifests.Seconds())
	fmt.Printf("payload verification (the provider's precondition, not part of Mirror): %.3f s (%.0f MB/s)\n", verify.Seconds(), float64(b.TotalSize())/1e6/verify.Seconds())
	return nil
}

func perImage(refs []string, copy func(repo string) (time.Duration, error)) (time.Duration, error) {
	var cpu time.Duration
	for _, ref := range refs {
		d, err := copy(strings.TrimPrefix(ref, "bench.invalid/"))
		if err != nil {
			return cpu, err
		}
		cpu += d
	}
	return cpu, nil
}

// command runs a tool and returns the CPU time it spent.
func command(name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func printTable(rows []row, rounds int) {
	find := func(prefix string) time.Duration {
		for _, r := range rows {
			if strings.HasPrefix(r.name, prefix) {
				return r.d
			}
		}
		return 0
	}
	crane, skopeo := find("crane push"), find("skopeo")
	ratio := func(ref, d time.Duration) string {
		if ref == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", ref.Seconds()/d.Seconds())
	}
	fmt.Printf("\n%-34s %8s %7s %14s %10s %8s %11s %11s\n", fmt.Sprintf("best of %d, fresh registry each", rounds), "seconds", "MB/s", "vs crane push", "vs skopeo", "digests", "client CPU", "server CPU")
	for _, r := range rows {
		fmt.Printf("%-34s %8.2f %7.0f %14s %10s %8s %10.2fs %10.2fs\n", r.name, r.d.Seconds(), float64(r.bytes)/1e6/r.d.Seconds(),
			ratio(crane, r.d), ratio(skopeo, r.d), r.identical, r.client.Seconds(), r.server.Seconds())
	}
	fmt.Println("(ratios: the peer's seconds over this row's, above 1 is faster than the peer; CPU in seconds of both cores)")
}

// blobCounter counts requests that send or commit a blob.
type blobCounter struct {
	inner http.RoundTripper
	n     atomic.Int64
}

func (c *blobCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/blobs/") && r.Method != http.MethodHead && r.Method != http.MethodGet {
		c.n.Add(1)
	}
	return c.inner.RoundTrip(r)
}

func blobCount(b *bundle.Bundle) int {
	n := 0
	for _, e := range b.BOM.Entries {
		if strings.HasPrefix(e.Path, bundle.BlobPath("")) {
			n++
		}
	}
	return n
}

func uniqueBlobBytes(b *bundle.Bundle) int64 {
	var n int64
	for _, e := range b.BOM.Entries {
		if strings.HasPrefix(e.Path, bundle.BlobPath("")) {
			n += e.Size
		}
	}
	return n
}

// fileDigest hashes a file (warming the page cache), kept next to it for the next run.
func fileDigest(path string) (string, error) {
	cached := path + ".sha256"
	if data, err := os.ReadFile(cached); err == nil {
		return strings.TrimSpace(string(data)), warm(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))
	return d, os.WriteFile(cached, []byte(d+"\n"), 0o644)
}

// warm reads every file under path once.
func warm(path string) error {
	return filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
}

// syncDisks flushes what the previous contender's registry wrote, so that its write-back does
// not land in the next one's time.
func syncDisks() { exec.Command("sync").Run() }
