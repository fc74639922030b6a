package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageSpec names one image (or image index) to carry.
type ImageSpec struct {
	// Ref is a registry reference ("registry.example/app:1.2"), or, with Layout set, the name of
	// an image in that OCI image layout (its org.opencontainers.image.ref.name annotation).
	Ref string
	// Layout is an OCI image layout directory to take the image from instead of a registry.
	Layout string
	// Platforms limits an index to these platforms ("linux/amd64"); empty takes every platform.
	// A listed platform the image does not have is an error.
	Platforms []string
}

// blob is one blob of the OCI layout before it is written: manifests and configs are held in
// memory, layers are streamed from their source when the payload is written.
type blob struct {
	size  int64
	data  []byte
	fetch func() (io.ReadCloser, error)
}

// resolvedImage is an image pinned to a digest with every blob it needs.
type resolvedImage struct {
	record Image
	desc   v1.Descriptor
	blobs  map[string]blob // by digest
}

// refNameAnnotation is how OCI layouts name images; crane, skopeo and oras read it.
const refNameAnnotation = "org.opencontainers.image.ref.name"

func resolveImage(ctx context.Context, spec ImageSpec, opts []remote.Option) (*resolvedImage, error) {
	wanted, err := parsePlatforms(spec.Platforms)
	if err != nil {
		return nil, err
	}
	ref, err := ParseExplicitReference(spec.Ref)
	if err != nil && spec.Layout == "" {
		return nil, err
	}
	if err != nil {
		// An image from a layout may carry a short name; it is never pulled by that name.
		if ref, err = name.ParseReference(spec.Ref); err != nil {
			return nil, fmt.Errorf("image %q: %w", spec.Ref, err)
		}
	}
	r := &resolvedImage{blobs: map[string]blob{}}
	r.record = Image{Ref: spec.Ref, Name: NormalizedName(ref.Context())}
	if t, ok := ref.(name.Tag); ok {
		r.record.Tag = t.TagStr()
	}
	var src source
	if spec.Layout != "" {
		src, err = layoutSource(spec.Layout, spec.Ref)
	} else {
		src, err = remoteSource(ctx, ref, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", spec.Ref, err)
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != src.digest.String() {
		return nil, fmt.Errorf("image %q: the source serves digest %s", spec.Ref, src.digest)
	}
	r.record.SourceDigest = src.digest.String()
	if src.index != nil {
		err = r.addIndex(src, wanted)
	} else {
		err = r.addSingle(src, wanted)
	}
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", spec.Ref, err)
	}
	r.desc.Annotations = map[string]string{refNameAnnotation: ReferenceString(r.record)}
	return r, nil
}

// source is an image or index found at a registry or in a layout, with a way to stream its
// layers.
type source struct {
	digest    v1.Hash
	mediaType types.MediaType
	raw       []byte
	index     v1.ImageIndex
	image     v1.Image
	layer     func(img v1.Image, h v1.Hash) (io.ReadCloser, error)
}

func remoteSource(ctx context.Context, ref name.Reference, opts []remote.Option) (source, error) {
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return source{}, err
	}
	s := source{digest: desc.Digest, mediaType: desc.MediaType, raw: desc.Manifest,
		layer: func(img v1.Image, h v1.Hash) (io.ReadCloser, error) {
			l, err := img.LayerByDigest(h)
			if err != nil {
				return nil, err
			}
			return l.Compressed()
		}}
	if desc.MediaType.IsIndex() {
		s.index, err = desc.ImageIndex()
	} else {
		s.image, err = desc.Image()
	}
	return s, err
}

func layoutSource(dir, refName string) (source, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return source{}, fmt.Errorf("opening OCI layout %s: %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return source{}, fmt.Errorf("reading %s/index.json: %w", dir, err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		return source{}, err
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		if d.Annotations[refNameAnnotation] == refName || len(im.Manifests) == 1 {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return source{}, fmt.Errorf("OCI layout %s has %d images named %q (by the %s annotation)", dir, len(found), refName, refNameAnnotation)
	}
	d := found[0]
	s := source{digest: d.Digest, mediaType: d.MediaType,
		layer: func(_ v1.Image, h v1.Hash) (io.ReadCloser, error) { return p.Blob(h) }}
	if s.raw, err = p.Bytes(d.Digest); err != nil {
		return source{}, err
	}
	if d.MediaType.IsIndex() {
		s.index, err = top.ImageIndex(d.Digest)
	} else {
		s.image, err = top.Image(d.Digest)
	}
	return s, err
}

func (r *resolvedImage) addIndex(src source, wanted []v1.Platform) error {
	im, err := v1.ParseIndexManifest(strings.NewReader(string(src.raw)))
	if err != nil {
		return err
	}
	var kept []v1.Descriptor
	for _, d := range im.Manifests {
		if len(wanted) == 0 || (d.Platform != nil && matchesAny(*d.Platform, wanted)) {
			kept = append(kept, d)
		}
	}
	if err := missingPlatforms(im.Manifests, wanted); err != nil {
		return err
	}
	raw := src.raw
	if len(kept) != len(im.Manifests) {
		// Only some platforms: the bundle carries a smaller index of its own.
		filtered := *im
		filtered.Manifests = kept
		if raw, err = json.Marshal(filtered); err != nil {
			return err
		}
	}
	r.setTop(raw, src.mediaType)
	for _, d := range kept {
		if !d.MediaType.IsImage() {
			return fmt.Errorf("index entry %s has media type %s: nested indexes are not supported", d.Digest, d.MediaType)
		}
		img, err := src.index.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("platform %s: %w", platformString(d.Platform), err)
		}
		if err := r.addManifest(img, src, platformString(d.Platform)); err != nil {
			return err
		}
	}
	return nil
}

func (r *resolvedImage) addSingle(src source, wanted []v1.Platform) error {
	cfg, err := src.image.ConfigFile()
	if err != nil {
		return err
	}
	p := cfg.Platform()
	if p == nil {
		p = &v1.Platform{}
	}
	if len(wanted) > 1 || (len(wanted) == 1 && !p.Satisfies(wanted[0])) {
		return fmt.Errorf("it is a single-platform image (%s), but platforms asks for %s", p, platformList(wanted))
	}
	r.setTop(src.raw, src.mediaType)
	return r.addManifest(src.image, src, p.String())
}

func (r *resolvedImage) setTop(raw []byte, mt types.MediaType) {
	d := digestOf(raw)
	r.desc = v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}
	r.record.Digest = d.String()
	r.record.MediaType = string(mt)
	r.blobs[d.String()] = blob{size: int64(len(raw)), data: raw}
}

func (r *resolvedImage) addManifest(img v1.Image, src source, platform string) error {
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if digestOf(cfg) != m.Config.Digest {
		return fmt.Errorf("platform %s: config does not match its digest %s", platform, m.Config.Digest)
	}
	d := digestOf(raw)
	r.blobs[d.String()] = blob{size: int64(len(raw)), data: raw}
	r.blobs[m.Config.Digest.String()] = blob{size: int64(len(cfg)), data: cfg}
	ip := ImagePlatform{Platform: platform, Digest: d.String(), Config: m.Config.Digest.String(),
		Size: int64(len(raw)) + int64(len(cfg))}
	for _, l := range m.Layers {
		h := l.Digest
		r.blobs[h.String()] = blob{size: l.Size, fetch: func() (io.ReadCloser, error) { return src.layer(img, h) }}
		ip.Layers = append(ip.Layers, h.String())
		ip.Size += l.Size
	}
	r.record.Platforms = append(r.record.Platforms, ip)
	return nil
}

func parsePlatforms(specs []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range specs {
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q is not of the form os/arch[/variant]", s)
		}
		out = append(out, *p)
	}
	return out, nil
}

func matchesAny(p v1.Platform, wanted []v1.Platform) bool {
	for _, w := range wanted {
		if p.Satisfies(w) {
			return true
		}
	}
	return false
}

func missingPlatforms(have []v1.Descriptor, wanted []v1.Platform) error {
	var missing []string
	for _, w := range wanted {
		found := false
		for _, d := range have {
			found = found || (d.Platform != nil && d.Platform.Satisfies(w))
		}
		if !found {
			missing = append(missing, w.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var avail []string
	for _, d := range have {
		if d.Platform != nil {
			avail = append(avail, d.Platform.String())
		}
	}
	sort.Strings(avail)
	return fmt.Errorf("the index has no %s manifest (it has %s)", strings.Join(missing, ", "), strings.Join(avail, ", "))
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}

func platformList(ps []v1.Platform) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// ParseExplicitReference parses an image reference that names its registry. A short name such as
// "nginx:1.25" is refused rather than sent to Docker Hub: nothing is fetched from a registry the
// configuration does not name.
func ParseExplicitReference(ref string) (name.Reference, error) {
	first, _, found := strings.Cut(ref, "/")
	if !found || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return nil, fmt.Errorf("image %q does not name its registry: write it in full (docker.io/library/nginx:1.25 for Docker Hub); the provider never picks a public registry for you", ref)
	}
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	return r, nil
}

// NormalizedName writes a repository the way people read it: Docker Hub as "docker.io" and its
// official images under "library/".
func NormalizedName(repo name.Repository) string {
	host := repo.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	return host + "/" + repo.RepositoryStr()
}

// ReferenceString is the image's normalised reference: name:tag, or name@digest without a tag.
func ReferenceString(img Image) string {
	if img.Tag != "" {
		return img.Name + ":" + img.Tag
	}
	return img.Name + "@" + img.Digest
}

// PlatformPattern is the form platforms are written in: os/arch[/variant].
var PlatformPattern = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)

// ValidateReference checks an image reference's syntax: a tag or a digest is required.
func ValidateReference(ref string) error {
	if _, err := name.ParseReference(ref, name.StrictValidation); err != nil {
		return fmt.Errorf("image %q: %w (write a tag or a digest, such as registry.example/app:1.2)", ref, err)
	}
	return nil
}
