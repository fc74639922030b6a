package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// blobTask is one unique blob and the repositories it must end up in.
type blobTask struct {
	digest string
	entry  bundle.Entry
	need   []string // repositories whose missing manifests reference it
	have   []string // repositories that hold it: a manifest referencing it is there
}

// blobTasks lists the blobs of every platform manifest the target lacks, largest first so that
// one large layer does not finish alone at the end. Blobs of manifests already present are not
// asked about: the registry accepted those manifests, so it holds their blobs.
func (m *mirror) blobTasks(st *state) []*blobTask {
	byDigest := map[string]*blobTask{}
	var order []*blobTask
	task := func(d string) *blobTask {
		t, ok := byDigest[d]
		if !ok {
			t = &blobTask{digest: d, entry: m.p.entries[d]}
			byDigest[d] = t
			order = append(order, t)
		}
		return t
	}
	pairs := map[string]bool{} // repo@blob already listed
	for _, pm := range m.p.platforms {
		present := st.hasManifest(pm.manifestRef)
		for _, d := range pm.blobs {
			key := pm.repo + "@" + d
			if pairs[key] {
				continue
			}
			pairs[key] = true
			t := task(d)
			if present {
				t.have = append(t.have, pm.repo)
				m.skipped.Add(1)
			} else {
				t.need = append(t.need, pm.repo)
			}
		}
	}
	var out []*blobTask
	for _, t := range order {
		if len(t.need) > 0 {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].entry.Size > out[j].entry.Size })
	return out
}

// pushBlobs makes every blob present in every repository that needs it: all of them before any
// manifest, so that a failure here leaves no new reference behind.
//
// Jobs bounds the bodies that stream at once, not the uploads in flight: an upload whose last
// byte is out waits for the registry to commit it (Distribution hashes, then fsyncs the blob
// before it answers), and while it waits another body streams. With the slot held to the answer
// instead, equal-sized blobs start and finish together and the disk and the CPUs take turns
// idling; bench/mirror measured the difference (see DESIGN.md).
func (m *mirror) pushBlobs(ctx context.Context, st *state) error {
	tasks := m.blobTasks(st)
	m.streams = make(chan struct{}, m.o.jobs)
	return forEach(ctx, inFlight(m.o.jobs), len(tasks), func(ctx context.Context, i int) error {
		return m.ensureBlob(ctx, tasks[i])
	})
}

// inFlight is how many blob requests may be open at once for jobs streaming bodies: each
// streaming upload may have one more behind it waiting for its commit.
func inFlight(jobs int) int { return 2 * max(jobs, 1) }

// stream takes a streaming slot, waiting for one; the returned release gives it back and may be
// called any number of times.
func (m *mirror) stream(ctx context.Context) (release func(), err error) {
	select {
	case m.streams <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-m.streams }) }, nil
}

// ensureBlob sends one blob at most once, repository by repository: a HEAD first (a registry
// that shares blobs between repositories has it after the first upload), then a
// cross-repository mount from a repository that holds it, or else an upload. A registry that does
// not mount gets the upload in the session it opened instead.
func (m *mirror) ensureBlob(ctx context.Context, t *blobTask) error {
	what := describeBlob(m.p.images, t.digest)
	sources := append([]string(nil), t.have...)
	for _, repo := range t.need {
		ok, err := m.c.blobExists(ctx, repo, t.digest)
		if err != nil {
			return fmt.Errorf("%s: looking it up in %s: %w", what, repo, err)
		}
		if ok {
			m.skipped.Add(1)
			sources = append(sources, repo)
			continue
		}
		from := ""
		if len(sources) > 0 {
			from = sources[0]
		}
		loc, mounted, err := m.c.startUpload(ctx, repo, t.digest, from)
		if err != nil {
			return fmt.Errorf("%s: starting its upload to %s: %w", what, repo, err)
		}
		if mounted {
			m.mounted.Add(1)
			m.log("blob mounted", map[string]any{"blob": t.digest, "repository": repo, "from": from})
		} else if err := m.upload(ctx, repo, loc, t, what); err != nil {
			return err
		}
		sources = append(sources, repo)
	}
	return nil
}

// upload streams the blob from the bundle into an open upload session and commits it.
func (m *mirror) upload(ctx context.Context, repo, loc string, t *blobTask, what string) error {
	err := m.streamBlob(ctx, loc, t, what)
	if err != nil {
		m.c.cancelUpload(loc)
		return fmt.Errorf("%s: pushing to %s: %w", what, repo, err)
	}
	m.uploaded.Add(1)
	m.sent.Add(t.entry.Size)
	m.log("blob uploaded", map[string]any{"blob": t.digest, "repository": repo, "bytes": t.entry.Size})
	return nil
}

// streamBlob sends a blob's bytes from the bundle, checked chunk by chunk (see blobReader), in
// the one request that also commits it. (Sending by sendfile instead saves our copies but costs
// the registry more CPU than it saves us: in bench/mirror a registry fed by sendfile spent
// 2.2-2.5 s of CPU on the corpus, one fed by writes 1.8-1.9 s.)
func (m *mirror) streamBlob(ctx context.Context, loc string, t *blobTask, what string) error {
	release, err := m.stream(ctx)
	if err != nil {
		return err
	}
	defer release()
	next := hashedChunks(m.b.ReaderAt(), m.b.EntryOffset(t.entry), t.entry.Size, t.digest, what)
	if s := m.b.Seal(t.entry); s != nil {
		next = sealedChunks(s, t.digest, what)
	}
	r := newBlobReader(next, t.entry.Size, &m.read)
	r.done = release // the slot goes back when the last byte is out, before the registry answers
	defer r.Close()  // the transport closes it too; a second Close does nothing
	var body io.Reader = r
	if t.entry.Size == 0 {
		// net/http takes a zero length with a body for an unknown length: check the empty blob
		// here and send no body.
		if _, err := r.Read(nil); err != io.EOF {
			return err
		}
		body = http.NoBody
	}
	err = m.c.putBlob(ctx, loc, t.digest, body, t.entry.Size)
	if ferr := r.failure(); ferr != nil {
		err = ferr // the transport would only say that the body failed
	}
	return err
}

func (m *mirror) log(msg string, fields map[string]any) { m.o.log(msg, fields) }
