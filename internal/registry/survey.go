package registry

import (
	"context"
	"fmt"
	"sync"
)

// state is what the target holds of a plan, learnt from HEAD requests only.
type state struct {
	mu        sync.Mutex
	manifests map[string]bool   // manifestRef.key() -> present
	tags      map[string]string // tagRef.key() -> the digest it points at, "" when absent
}

func (s *state) hasManifest(r manifestRef) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.manifests[r.key()]
}

func (s *state) tagDigest(t tagRef) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tags[t.key()]
}

// survey asks the target, in parallel, for every manifest of the plan by digest and every tag.
// It never reads a blob: a re-apply with nothing to do costs these HEAD requests and no more.
func survey(ctx context.Context, c *client, p *plan, jobs int) (*state, error) {
	st := &state{manifests: map[string]bool{}, tags: map[string]string{}}
	refs := make([]manifestRef, 0, len(p.platforms)+len(p.indexes))
	for _, pm := range p.platforms {
		refs = append(refs, pm.manifestRef)
	}
	refs = append(refs, p.indexes...)
	n := len(refs) + len(p.tags)
	err := forEach(ctx, jobs, n, func(ctx context.Context, i int) error {
		if i < len(refs) {
			r := refs[i]
			d, err := c.manifestDigest(ctx, r.repo, r.digest)
			if err != nil {
				return fmt.Errorf("image %s: looking up manifest %s in %s: %w", r.image, r.digest, r.repo, err)
			}
			st.mu.Lock()
			st.manifests[r.key()] = d == r.digest
			st.mu.Unlock()
			return nil
		}
		t := p.tags[i-len(refs)]
		d, err := c.manifestDigest(ctx, t.repo, t.tag)
		if err != nil {
			return fmt.Errorf("image %s: looking up tag %s: %w", t.image, t.key(), err)
		}
		st.mu.Lock()
		st.tags[t.key()] = d
		st.mu.Unlock()
		return nil
	})
	return st, err
}
