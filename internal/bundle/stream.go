package bundle

import (
	"fmt"
	"io"
	"sort"
)

// stream reads a bundle's bytes by offset across its files: one file, or the head and the parts
// of a split bundle laid end to end.
type stream struct {
	files  []StoreFile
	starts []int64 // offset of each file in the stream
	size   int64
}

// newStream checks the files' sizes against the BOM before any payload read: a truncated file, a
// missing or extra part, or trailing bytes are refused here. It takes ownership of files.
func newStream(files []StoreFile, names []string, head *Head) (*stream, error) {
	b := head.BOM
	want := []int64{head.size + b.PayloadSize}
	if len(b.Parts) > 0 {
		want = []int64{head.size}
		for _, p := range b.Parts {
			want = append(want, p.Size)
		}
	}
	if len(b.Parts) == 0 && len(names) > 1 {
		return nil, fmt.Errorf("bundle %s is a single-file bundle, but part files were found beside it", names[0])
	}
	if len(names) < len(want) {
		return nil, fmt.Errorf("bundle %s has %d parts but only %d part files: %s is missing", names[0], len(want), len(names), PartName(trimPart(names[0]), len(names)))
	}
	if len(names) > len(want) {
		return nil, fmt.Errorf("bundle %s has %d parts, but there is an extra file %s", names[0], len(want), names[len(want)])
	}
	s := &stream{files: files}
	for i, f := range files {
		if f.Size() != want[i] {
			return nil, sizeError(names[i], f.Size(), want[i])
		}
		s.starts = append(s.starts, s.size)
		s.size += f.Size()
	}
	return s, nil
}

func sizeError(path string, got, want int64) error {
	if got < want {
		return fmt.Errorf("bundle file %s is truncated: %d bytes, the signed BOM says %d", path, got, want)
	}
	return fmt.Errorf("bundle file %s has %d bytes, more than the %d the signed BOM says: data was added", path, got, want)
}

func trimPart(p string) string {
	if len(p) > 8 && p[len(p)-8:len(p)-3] == ".part" {
		return p[:len(p)-8]
	}
	return p
}

// ReadAt reads across file boundaries.
func (s *stream) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	n := 0
	for len(p) > 0 && off < s.size {
		i := sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > off }) - 1
		end := s.size
		if i+1 < len(s.starts) {
			end = s.starts[i+1]
		}
		chunk := p[:min(int64(len(p)), end-off)]
		k, err := s.files[i].ReadAt(chunk, off-s.starts[i])
		n += k
		if err != nil && !(err == io.EOF && k == len(chunk)) {
			return n, err
		}
		p, off = p[k:], off+int64(k)
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

func (s *stream) close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
