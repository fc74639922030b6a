package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/registry"
)

// round measures every contender once, each into a fresh registry. Our Mirror goes first: the
// registry it fills is the source the per-image copies read from.
//
// b is verified, so Mirror checks its reads against the seal the verification left; unsealed is
// the same bundle opened without verification, which Mirror streams through SHA-256 instead.
func round(ctx context.Context, c config, b, unsealed *bundle.Bundle, corp *corpus, bundleDigest string, profile bool) ([]row, oursResult, noopResult, error) {
	runs := filepath.Join(c.dir, "runs")
	unique := uniqueBlobBytes(b)
	src, err := startRegistry(c.registry, filepath.Join(runs, "airgap"))
	if err != nil {
		return nil, oursResult{}, noopResult{}, err
	}
	defer src.stop()
	prof := ""
	if profile {
		prof = c.profile
	}
	ours, noop, err := measureOurs(ctx, b, src, c.jobs, prof)
	if err != nil {
		return nil, oursResult{}, noopResult{}, err
	}
	rows := []row{ours.row}
	hashed, err := measureUnsealed(ctx, c, unsealed)
	if err != nil {
		return nil, oursResult{}, noopResult{}, err
	}
	rows = append(rows, hashed)
	if !c.skipSlow {
		for _, p := range peers(c, corp, src) {
			r, err := measurePeer(c, b, p.name, p.run, p.repo, unique)
			if err != nil {
				return nil, oursResult{}, noopResult{}, err
			}
			rows = append(rows, r)
		}
	}
	raw, err := measureIngest(c, b, bundleDigest)
	if err != nil {
		return nil, oursResult{}, noopResult{}, err
	}
	return append(rows, raw), ours, noop, nil
}

type peer struct {
	name string
	run  func(dst *distribution) (time.Duration, error)
	repo func(i int) string // where image i lands; nil: its own repository
}

func peers(c config, corp *corpus, src *distribution) []peer {
	return []peer{
		{"crane push --index (layout)", func(dst *distribution) (time.Duration, error) {
			return command(c.crane, "push", "--index", c.lout, dst.host+"/bench/all:1")
		}, func(int) string { return "bench/all" }},
		{fmt.Sprintf("crane copy, %d images", len(corp.refs)), func(dst *distribution) (time.Duration, error) {
			return perImage(corp.refs, func(repo string) (time.Duration, error) {
				return command(c.crane, "copy", src.host+"/"+repo, dst.host+"/"+repo)
			})
		}, nil},
		{fmt.Sprintf("skopeo copy --all, %d images", len(corp.refs)), func(dst *distribution) (time.Duration, error) {
			return perImage(corp.refs, func(repo string) (time.Duration, error) {
				return command(c.skopeo, "copy", "-q", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
					"docker://"+src.host+"/"+repo, "docker://"+dst.host+"/"+repo)
			})
		}, nil},
	}
}

// oursResult is our Mirror's row and its Result.
type oursResult struct {
	row
	res *registry.Result
}

type noopResult struct {
	res          *registry.Result
	blobRequests int64
}

func measureOurs(ctx context.Context, b *bundle.Bundle, dst *distribution, jobs int, profile string) (oursResult, noopResult, error) {
	target := registry.Target{Host: dst.host, PlainHTTP: true}
	syncDisks()
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return oursResult{}, noopResult{}, err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	cpu0, srv0 := selfCPU(), dst.cpu()
	t0 := time.Now()
	res, err := registry.Mirror(ctx, b, target, registry.WithJobs(jobs))
	d := time.Since(t0)
	pprof.StopCPUProfile()
	if err != nil {
		return oursResult{}, noopResult{}, fmt.Errorf("our mirror: %w", err)
	}
	ours := oursResult{row: row{name: "airgap Mirror (sealed bundle)", d: d, bytes: uniqueBlobBytes(b),
		client: selfCPU() - cpu0, server: dst.cpu() - srv0, identical: identical(b, dst.host, nil)}, res: res}

	counting := &blobCounter{inner: http.DefaultTransport.(*http.Transport).Clone()}
	target.Transport = counting
	again, err := registry.Mirror(ctx, b, target, registry.WithJobs(jobs))
	if err != nil {
		return oursResult{}, noopResult{}, fmt.Errorf("our no-op mirror: %w", err)
	}
	return ours, noopResult{res: again, blobRequests: counting.n.Load()}, nil
}

// measureUnsealed mirrors a bundle this process did not verify: every blob is hashed with SHA-256
// while it streams, the engine's path when it has no seal to check against.
func measureUnsealed(ctx context.Context, c config, b *bundle.Bundle) (row, error) {
	dst, err := startRegistry(c.registry, filepath.Join(c.dir, "runs", "unsealed"))
	if err != nil {
		return row{}, err
	}
	defer dst.stop()
	syncDisks()
	cpu0, srv0 := selfCPU(), dst.cpu()
	t0 := time.Now()
	if _, err := registry.Mirror(ctx, b, registry.Target{Host: dst.host, PlainHTTP: true}, registry.WithJobs(c.jobs)); err != nil {
		return row{}, fmt.Errorf("our mirror of the unsealed bundle: %w", err)
	}
	d := time.Since(t0)
	return row{name: "airgap Mirror, SHA-256 stream", d: d, bytes: uniqueBlobBytes(b),
		client: selfCPU() - cpu0, server: dst.cpu() - srv0, identical: identical(b, dst.host, nil)}, nil
}

func measurePeer(c config, b *bundle.Bundle, name string, push func(*distribution) (time.Duration, error), repo func(int) string, unique int64) (row, error) {
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	dst, err := startRegistry(c.registry, filepath.Join(c.dir, "runs", slug))
	if err != nil {
		return row{}, err
	}
	defer dst.stop()
	syncDisks()
	srv0 := dst.cpu()
	t0 := time.Now()
	client, err := push(dst)
	if err != nil {
		return row{}, fmt.Errorf("%s: %w", name, err)
	}
	d := time.Since(t0)
	return row{name: name, d: d, bytes: unique, client: client, server: dst.cpu() - srv0, identical: identical(b, dst.host, repo)}, nil
}

// measureIngest sends the whole bundle file as one blob: the registry's own ceiling.
func measureIngest(c config, b *bundle.Bundle, bundleDigest string) (row, error) {
	dst, err := startRegistry(c.registry, filepath.Join(c.dir, "runs", "ingest"))
	if err != nil {
		return row{}, err
	}
	defer dst.stop()
	syncDisks()
	srv0 := dst.cpu()
	t0 := time.Now()
	if err := ingest(dst.host, c.bundlePath, bundleDigest); err != nil {
		return row{}, err
	}
	return row{name: "registry raw ingest (1 blob PUT)", d: time.Since(t0), bytes: b.TotalSize(), server: dst.cpu() - srv0, identical: "n/a"}, nil
}

// identical checks that every image of the BOM is in the target under the BOM's digest, in its
// own repository or, for crane push --index, in the one repository.
func identical(b *bundle.Bundle, host string, repo func(int) string) string {
	for i, img := range b.BOM.Images {
		r := img.Name[strings.Index(img.Name, "/")+1:]
		if repo != nil {
			r = repo(i)
		}
		ok, err := hasManifest(host, r, img.Digest)
		if err != nil || !ok {
			return fmt.Sprintf("NO (%s)", img.Ref)
		}
	}
	return "yes"
}
