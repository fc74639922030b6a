package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"

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
func (m *mirror) pushBlobs(ctx context.Context, st *state) error {
	tasks := m.blobTasks(st)
	return forEach(ctx, m.o.jobs, len(tasks), func(ctx context.Context, i int) error {
		return m.ensureBlob(ctx, tasks[i])
	})
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

// streamBlob sends a blob's bytes from the bundle's ReaderAt, at the entry's offset, in the one
// request that also commits it. (Sending large blobs by sendfile instead, as a PATCH of all but
// a held-back tail and a PUT of the tail, cost the registry more CPU than it saved us in
// bench/mirror, so the engine does not.)
func (m *mirror) streamBlob(ctx context.Context, loc string, t *blobTask, what string) error {
	r := newBlobReader(m.b.ReaderAt(), m.b.EntryOffset(t.entry), t.entry.Size, t.digest, what, &m.read)
	defer r.Close() // the transport closes it too; a second Close does nothing
	var body io.Reader = r
	if t.entry.Size == 0 {
		// net/http takes a zero length with a body for an unknown length: check the empty blob
		// here and send no body.
		if _, err := r.Read(nil); err != io.EOF {
			return err
		}
		body = http.NoBody
	}
	err := m.c.putBlob(ctx, loc, t.digest, body, t.entry.Size)
	if ferr := r.failure(); ferr != nil {
		err = ferr // the transport would only say that the body failed
	}
	return err
}

func (m *mirror) log(msg string, fields map[string]any) { m.o.log(msg, fields) }
