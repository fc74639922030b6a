package registry

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// plan is what a bundle puts into a target, worked out from the signed BOM alone: no payload
// byte is read and no request made.
type plan struct {
	target    Target
	images    []imagePlan
	platforms []platformManifest // unique per repository and digest
	indexes   []manifestRef      // unique per repository and digest
	tags      []tagRef
	repos     []string                // sorted, unique
	entries   map[string]bundle.Entry // every blob and manifest, by digest
}

// imagePlan is one image of the BOM and the repository it goes to.
type imagePlan struct {
	img  bundle.Image
	repo string
}

// manifestRef is a manifest in a repository of the target.
type manifestRef struct {
	repo, digest string
	image        string // the first image it belongs to, for messages
}

// platformManifest is an image manifest and the blobs (config and layers) it needs.
type platformManifest struct {
	manifestRef
	blobs []string
}

// tagRef is a tag the mirror sets.
type tagRef struct {
	repo, tag, digest string
	image             string
}

func (r manifestRef) key() string { return r.repo + "@" + r.digest }
func (r tagRef) key() string      { return r.repo + ":" + r.tag }

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func isDigest(s string) bool { return digestPattern.MatchString(s) }

func newPlan(bom *bundle.BOM, t Target) (*plan, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	p := &plan{target: t, entries: map[string]bundle.Entry{}}
	blobs := blobEntries(bom)
	seenManifest := map[string]bool{}
	tags := map[string]tagRef{}
	repos := map[string]bool{}
	for _, img := range bom.Images {
		repo, err := t.repository(img.Name)
		if err != nil {
			return nil, err
		}
		p.images = append(p.images, imagePlan{img: img, repo: repo})
		repos[repo] = true
		if err := p.addEntries(blobs, img); err != nil {
			return nil, err
		}
		if types.MediaType(img.MediaType).IsIndex() {
			ref := manifestRef{repo: repo, digest: img.Digest, image: img.Ref}
			if !seenManifest[ref.key()] {
				seenManifest[ref.key()] = true
				p.indexes = append(p.indexes, ref)
			}
		} else if len(img.Platforms) != 1 || img.Platforms[0].Digest != img.Digest {
			return nil, fmt.Errorf("image %s: a single manifest (%s) must list itself as its one platform", img.Ref, img.MediaType)
		}
		for _, pl := range img.Platforms {
			ref := manifestRef{repo: repo, digest: pl.Digest, image: img.Ref}
			if seenManifest[ref.key()] {
				continue
			}
			seenManifest[ref.key()] = true
			p.platforms = append(p.platforms, platformManifest{manifestRef: ref, blobs: append([]string{pl.Config}, pl.Layers...)})
		}
		if img.Tag == "" {
			continue
		}
		tr := tagRef{repo: repo, tag: img.Tag, digest: img.Digest, image: img.Ref}
		if prev, ok := tags[tr.key()]; ok && prev.digest != tr.digest {
			return nil, fmt.Errorf("images %s and %s both map to %s/%s but are different images (%s, %s): set a repository prefix or rename one", prev.image, tr.image, t.Host, tr.key(), prev.digest, tr.digest)
		} else if !ok {
			tags[tr.key()] = tr
			p.tags = append(p.tags, tr)
		}
	}
	for r := range repos {
		p.repos = append(p.repos, r)
	}
	sort.Strings(p.repos)
	return p, nil
}

// addEntries records the bundle entry of every blob and manifest of img, and checks that each
// entry's hash is the digest it is stored under: the bytes pushed under a digest are checked
// against that digest, so a BOM that disagrees with itself is refused before anything is sent.
func (p *plan) addEntries(blobs map[string]bundle.Entry, img bundle.Image) error {
	digests := []string{img.Digest}
	for _, pl := range img.Platforms {
		digests = append(digests, pl.Digest, pl.Config)
		digests = append(digests, pl.Layers...)
	}
	for _, d := range digests {
		if _, ok := p.entries[d]; ok {
			continue
		}
		e, ok := blobs[bundle.BlobPath(d)]
		if !ok {
			return fmt.Errorf("image %s: the bundle has no entry for %s", img.Ref, d)
		}
		if "sha256:"+e.SHA256 != d {
			return fmt.Errorf("image %s: entry %s has sha256 %s, not the digest it is stored under", img.Ref, e.Path, e.SHA256)
		}
		p.entries[d] = e
	}
	return nil
}

// blobEntries indexes the OCI layout's blobs by path; looking each one up in the BOM's list
// would be quadratic in the number of entries.
func blobEntries(bom *bundle.BOM) map[string]bundle.Entry {
	prefix := bundle.BlobPath("")
	out := map[string]bundle.Entry{}
	for _, e := range bom.Entries {
		if strings.HasPrefix(e.Path, prefix) {
			out[e.Path] = e
		}
	}
	return out
}

// pinned is an image's mirrored reference, pinned by digest.
func (p *plan) pinned(ip imagePlan) string {
	return p.target.Host + "/" + ip.repo + "@" + ip.img.Digest
}

// tagged is an image's mirrored reference by tag, or "" for an image carried by digest only.
func (p *plan) tagged(ip imagePlan) string {
	if ip.img.Tag == "" {
		return ""
	}
	return p.target.Host + "/" + ip.repo + ":" + ip.img.Tag
}

// manifestMediaType reads the mediaType a manifest declares, for the Content-Type it is pushed
// with; OCI manifests may leave it out, and then their shape says which they are.
func manifestMediaType(raw []byte, fallback string) string {
	var m struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &m); err == nil {
		switch {
		case m.MediaType != "":
			return m.MediaType
		case m.Manifests != nil:
			return string(types.OCIImageIndex)
		}
	}
	if fallback != "" {
		return fallback
	}
	return string(types.OCIManifestSchema1)
}

// describeBlob names a blob the way an operator thinks of it.
func describeBlob(images []imagePlan, digest string) string {
	for _, ip := range images {
		for _, pl := range ip.img.Platforms {
			if pl.Config == digest {
				return fmt.Sprintf("config %s of image %s (%s)", digest, ip.img.Ref, pl.Platform)
			}
			for _, l := range pl.Layers {
				if l == digest {
					return fmt.Sprintf("layer %s of image %s (%s)", digest, ip.img.Ref, pl.Platform)
				}
			}
		}
	}
	return "blob " + digest
}

// allManifests lists every manifest and index of the plan in the BOM's order, each index before
// its platforms.
func (p *plan) allManifests() []manifestRef {
	platforms := map[string]platformManifest{}
	for _, pm := range p.platforms {
		platforms[pm.key()] = pm
	}
	seen := map[string]bool{}
	var out []manifestRef
	add := func(r manifestRef) {
		if !seen[r.key()] {
			seen[r.key()] = true
			out = append(out, r)
		}
	}
	for _, ip := range p.images {
		if types.MediaType(ip.img.MediaType).IsIndex() {
			add(manifestRef{repo: ip.repo, digest: ip.img.Digest, image: ip.img.Ref})
		}
		for _, pl := range ip.img.Platforms {
			add(platforms[ip.repo+"@"+pl.Digest].manifestRef)
		}
	}
	return out
}

// indexChildren is the set of repo@digest that an index of the plan names.
func (p *plan) indexChildren() map[string]bool {
	out := map[string]bool{}
	for _, ip := range p.images {
		if types.MediaType(ip.img.MediaType).IsIndex() {
			for _, pl := range ip.img.Platforms {
				out[ip.repo+"@"+pl.Digest] = true
			}
		}
	}
	return out
}
