package bundle

import (
	"fmt"
	"os"
	"time"
)

// FileState is what a quick check compares, the way make and rsync do: a file's size and
// modification time. A bundle whose files kept both is taken as unchanged without reading it.
type FileState struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

// Stat returns the state of each file, or an error if one is missing.
func Stat(files []string) ([]FileState, error) {
	out := make([]FileState, 0, len(files))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		out = append(out, FileState{Path: f, Size: st.Size(), ModTime: st.ModTime().UTC()})
	}
	return out, nil
}

// Digest recomputes a bundle's SHA256 as Result defines it: the file's digest, or for a split
// bundle part 0's, after checking every payload part against the digest its BOM lists.
func Digest(path string) (string, error) {
	head, files, err := ReadHead(path)
	if err != nil {
		return "", err
	}
	if len(head.BOM.Parts) > 0 {
		if len(files) != len(head.BOM.Parts)+1 {
			return "", fmt.Errorf("bundle %s has %d part files, its BOM lists %d parts", path, len(files), len(head.BOM.Parts)+1)
		}
		for i, p := range head.BOM.Parts {
			sum, _, err := hashFile(files[i+1])
			if err != nil {
				return "", err
			}
			if sum != p.SHA256 {
				return "", fmt.Errorf("%s does not match part %d of the BOM", files[i+1], i+1)
			}
		}
	}
	sum, _, err := hashFile(files[0])
	return sum, err
}
