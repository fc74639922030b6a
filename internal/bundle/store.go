package bundle

import (
	"fmt"
	"io"
	"os"
)

// Store is where a bundle's files are read from: the local filesystem, or an object store (an
// S3 bucket). Open must return an error matching fs.ErrNotExist for a file that is absent.
type Store interface {
	Open(name string) (StoreFile, error)
}

// StoreFile is one file of a bundle, read by offset: nothing is staged locally, so an object store
// serves only the ranges that are asked for.
type StoreFile = interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// LocalFiles reads bundles from the local filesystem; names are paths.
var LocalFiles Store = localStore{}

type localStore struct{}

type localFile struct {
	*os.File
	size int64
}

func (l localFile) Size() int64 { return l.size }

func (localStore) Open(name string) (StoreFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("bundle file %s is not a regular file", name)
	}
	return localFile{File: f, size: st.Size()}, nil
}
