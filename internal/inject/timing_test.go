package inject

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"k8s.io/client-go/kubernetes"
)

// TestClusterInjectTimings measures, on the test cluster, the time from calling Inject to a
// registry answering on 127.0.0.1:31998 of the node, and how fast chunk ConfigMaps are created:
// for the sample images and for a payload the size of a registry image (~20 MB), at several
// concurrencies and with both wire encodings. Figures are logged (go test -v);
// AIRGAP_INJECT_TIMING_RUNS=N repeats every run N times.
func TestClusterInjectTimings(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement: not with -short")
	}
	e := requireCluster(t)
	ns := testNamespace(t, e.cs, "airgap-timings") // deleting a namespace would dominate Remove
	registrySized := []PayloadImage{{Repository: "airgap/registry", Tag: "3", Image: randomImageOrFail(t, 20<<20)}}
	runs := []struct {
		label       string
		images      []PayloadImage
		concurrency int
		cs          kubernetes.Interface
		encoding    string
	}{
		{"sample images", samplePayload(t, 64<<10), DefaultConcurrency, e.cs, "protobuf"},
		{"registry-sized", registrySized, 1, e.cs, "protobuf"},
		{"registry-sized", registrySized, 2, e.cs, "protobuf"},
		{"registry-sized", registrySized, DefaultConcurrency, e.cs, "protobuf"},
		{"registry-sized", registrySized, 6, e.cs, "protobuf"},
		{"registry-sized", registrySized, DefaultConcurrency, e.c.Clientset(), "json"},
	}
	repeat := 1
	if n, err := strconv.Atoi(os.Getenv("AIRGAP_INJECT_TIMING_RUNS")); err == nil && n > 1 {
		repeat = n
	}
	var table []string
	for i := range len(runs) * repeat {
		r := runs[i%len(runs)] // round robin: a burst of load on the machine spreads over all
		name := uniqueName("timing")
		removeOnCleanup(t, e.cs, ns, name)
		start := time.Now()
		seed, err := Inject(t.Context(), r.cs, Request{Name: name, Namespace: ns, Concurrency: r.concurrency}, Payload{Images: r.images, Injectors: e.injectors})
		if err != nil {
			t.Fatal(err)
		}
		injectTook := time.Since(start)
		serving := untilServing(t, seed.Endpoint)
		removeStart := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err = Remove(ctx, e.cs, ns, name)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		mb := float64(seed.PayloadSize) / 1e6
		up := seed.UploadTook.Seconds()
		table = append(table, fmt.Sprintf("%-15s %7.2f MB %4d chunks  conc %d %-8s  upload %6.2fs = %5.1f ConfigMaps/s, %5.1f MB/s  pod->ready endpoint %5.2fs  Inject %5.2fs  +%4.2fs until serving  Remove %5.2fs",
			r.label, mb, seed.Chunks, r.concurrency, r.encoding, up, float64(seed.Chunks)/up, mb/up,
			seed.ReadyTook.Seconds(), injectTook.Seconds(), serving.Seconds(), time.Since(removeStart).Seconds()))
	}
	if up, err := os.ReadFile(filepath.Join(e.c.Dir(), "timings")); err == nil {
		t.Logf("this cluster's start (test/cluster timings): %s", strings.Join(strings.Fields(string(up)), ", "))
	}
	t.Logf("payload, chunks, concurrency, encoding, timings:\n%s", strings.Join(table, "\n"))
}

func randomImageOrFail(t *testing.T, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
