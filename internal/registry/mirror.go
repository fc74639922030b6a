package registry

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// Result is what a Mirror did.
type Result struct {
	// Images lists every image of the BOM, in its order, with where it now is.
	Images []MirroredImage
	// BlobsUploaded counts blob bodies sent, BlobsMounted cross-repository mounts, BlobsSkipped
	// blobs not sent because the repository had them (found by a HEAD, or implied by a manifest
	// already there); each counts (blob, repository) pairs.
	BlobsUploaded, BlobsMounted, BlobsSkipped int
	// BytesSent is the blob bytes sent; BytesRead the blob bytes read from the bundle.
	BytesSent, BytesRead int64
	// ManifestsPushed and ManifestsPresent count manifests and indexes by digest; TagsSet the
	// tags that were missing or pointed elsewhere.
	ManifestsPushed, ManifestsPresent, TagsSet int
	// Survey, Blobs and Manifests time the three phases; Duration the whole call.
	Survey, Blobs, Manifests, Duration time.Duration
}

// MirroredImage is one image of the bundle in the target.
type MirroredImage struct {
	Ref      string // as the BOM records it
	Digest   string // of the manifest or index
	Mirrored string // host/repository@digest
	Tagged   string // host/repository:tag, or "" for an image carried by digest only
}

// Mirror pushes every image of b, every platform, into target straight from the bundle file:
// blobs in parallel, each read from the bundle at its offset and checked while it streams, then
// per-platform manifests, then indexes, then tags, so that no reference ever names something
// incomplete. Each image goes to the repository Target.repository gives it; manifests are
// pushed byte for byte, so their digests are the BOM's.
//
// Precondition: the caller has already verified the payload (b.VerifyPayload) before calling
// Mirror. Mirror checks every blob it sends as well, so bytes that changed since then abort the
// run before any manifest is pushed, but it reads only what it sends: against the seal the
// verification left (bundle.Seal) when b was verified, else against the blob's SHA-256 digest.
//
// The work is idempotent: what the target already holds is found by HEAD requests and skipped,
// so a run after an interruption continues where the last one stopped and a run with nothing to
// do sends no blob. On error the Result counts what was done before the run stopped.
func Mirror(ctx context.Context, b *bundle.Bundle, target Target, opts ...Option) (*Result, error) {
	start := time.Now()
	o := newOptions(opts)
	res := &Result{}
	defer func() { res.Duration = time.Since(start) }()
	p, err := newPlan(b.BOM, target)
	if err != nil || len(p.images) == 0 {
		return res, err // a bundle without images has nothing to ask the registry
	}
	c, err := newClient(ctx, target, p.repos, scopePush, o.jobs)
	if err != nil {
		return res, err
	}
	defer c.close()
	m := &mirror{b: b, p: p, c: c, o: o}
	defer m.count(res)

	t := time.Now()
	st, err := survey(ctx, c, p, o.jobs)
	res.Survey = time.Since(t)
	if err != nil {
		return res, err
	}
	check := "sha256 while streaming, last chunk withheld on a mismatch"
	if b.Sealed() {
		check = "each chunk against the seal of this process's verification"
	}
	o.log("registry target surveyed", map[string]any{
		"target": target.Host, "images": len(p.images), "manifests_present": m.countPresent(st),
		"manifests": len(p.platforms) + len(p.indexes), "blob_check": check,
	})

	t = time.Now()
	err = m.pushBlobs(ctx, st)
	res.Blobs = time.Since(t)
	if err != nil {
		return res, err
	}

	t = time.Now()
	err = m.pushManifests(ctx, st)
	res.Manifests = time.Since(t)
	if err != nil {
		return res, err
	}
	for _, ip := range p.images {
		mi := MirroredImage{Ref: ip.img.Ref, Digest: ip.img.Digest, Mirrored: p.pinned(ip), Tagged: p.tagged(ip)}
		res.Images = append(res.Images, mi)
		o.log("image mirrored", map[string]any{"image": mi.Ref, "mirrored": mi.Mirrored, "tag": mi.Tagged})
	}
	return res, nil
}

// mirror is one Mirror run; its counters are updated from parallel jobs.
type mirror struct {
	b *bundle.Bundle
	p *plan
	c *client
	o options
	// streams holds a token per blob body streaming now; at most o.jobs.
	streams chan struct{}

	uploaded, mounted, skipped atomic.Int64
	sent, read                 atomic.Int64
	pushed, found, tagged      atomic.Int64
}

func (m *mirror) countPresent(st *state) int {
	n := 0
	for _, pm := range m.p.platforms {
		if st.hasManifest(pm.manifestRef) {
			n++
		}
	}
	for _, r := range m.p.indexes {
		if st.hasManifest(r) {
			n++
		}
	}
	m.found.Store(int64(n))
	return n
}

func (m *mirror) count(res *Result) {
	res.BlobsUploaded = int(m.uploaded.Load())
	res.BlobsMounted = int(m.mounted.Load())
	res.BlobsSkipped = int(m.skipped.Load())
	res.BytesSent = m.sent.Load()
	res.BytesRead = m.read.Load()
	res.ManifestsPushed = int(m.pushed.Load())
	res.ManifestsPresent = int(m.found.Load())
	res.TagsSet = int(m.tagged.Load())
}
