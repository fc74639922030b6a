package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
)

// File is one object read by offset. It is an alias of an interface literal, so that a consumer
// declaring the same alias (the bundle engine's StoreFile) sees identical types and BucketStore
// satisfies its Store interface without either package importing the other.
type File = interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// BucketStore opens the objects of one bucket as Files: every ReadAt is one ranged GET of
// exactly the bytes asked for, with no read-ahead and nothing staged on local disk. Read in
// large pieces (the bundle engine reads 1 MiB at a time): an 8 KiB read costs a request too.
type BucketStore struct {
	c      *Client
	bucket string
	ctx    context.Context
	stats  *Stats
}

// Stats counts what a BucketStore fetched, for tests and for logs: how much of an object was
// read before it was accepted or rejected.
type Stats struct {
	bytes, requests atomic.Int64
}

// Bytes is the number of object bytes received by ReadAt calls.
func (s *Stats) Bytes() int64 { return s.bytes.Load() }

// Requests is the number of ranged GETs sent.
func (s *Stats) Requests() int64 { return s.requests.Load() }

// Store reads the objects of bucket; names passed to Open are keys.
func (c *Client) Store(bucket string) *BucketStore {
	return &BucketStore{c: c, bucket: bucket, ctx: context.Background(), stats: &Stats{}}
}

// WithContext returns a store whose requests are cancelled with ctx (and shares its Stats).
func (s *BucketStore) WithContext(ctx context.Context) *BucketStore {
	cp := *s
	cp.ctx = ctx
	return &cp
}

// Stats returns the store's counters, shared by every File it opened.
func (s *BucketStore) Stats() *Stats { return s.stats }

// Open stats the object. An absent object or bucket gives an error matching fs.ErrNotExist.
func (s *BucketStore) Open(key string) (File, error) {
	if err := checkBucket(s.bucket); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	loc := Location{Bucket: s.bucket, Key: key}
	info, err := s.c.data.StatObject(s.ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, describe(loc, "reading its size", err)
	}
	return &object{store: s, loc: loc, size: info.Size, etag: info.ETag}, nil
}

type object struct {
	store *BucketStore
	loc   Location
	size  int64
	etag  string // every range must come from the version that was opened
}

func (o *object) Size() int64  { return o.size }
func (o *object) Close() error { return nil } // no connection outlives a ReadAt

// ReadAt fetches bytes [off, off+len(p)) in one ranged GET. A body cut short is asked for
// again from where it stopped, a few times, so a long verification survives a dropped
// connection.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", o.loc, off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := p
	if rest := o.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	n := 0
	var lastErr error
	for tries := 0; n < len(want) && tries < 3; tries++ {
		k, err := o.readRange(want[n:], off+int64(n))
		n += k
		if err == nil {
			continue
		}
		lastErr = err
		if k > 0 {
			tries = 0 // progress: a fresh budget for the rest
		}
		if !retryable(o.store.ctx, err) {
			break
		}
	}
	if n < len(want) {
		return n, lastErr
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (o *object) readRange(p []byte, off int64) (int, error) {
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+int64(len(p))-1); err != nil {
		return 0, err
	}
	if o.etag != "" {
		if err := opts.SetMatchETag(o.etag); err != nil {
			return 0, err
		}
	}
	o.store.stats.requests.Add(1)
	body, _, _, err := o.store.c.core.GetObject(o.store.ctx, o.loc.Bucket, o.loc.Key, opts)
	if err != nil {
		return 0, describe(o.loc, fmt.Sprintf("reading bytes %d-%d", off, off+int64(len(p))-1), err)
	}
	defer body.Close()
	n, err := io.ReadFull(body, p)
	o.store.stats.bytes.Add(int64(n))
	if err != nil {
		return n, fmt.Errorf("%s: reading bytes %d-%d: %w", o.loc, off, off+int64(len(p))-1, err)
	}
	return n, nil
}

// retryable is false for answers that will not change: the object is gone or was replaced.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, errChanged) {
		return false
	}
	var er minio.ErrorResponse
	return !errors.As(err, &er) || er.StatusCode >= 500
}

var errChanged = errors.New("the object was replaced while it was being read")

// describe turns a minio error into one that names the object and matches fs.ErrNotExist or
// errChanged where that is what happened.
func describe(loc Location, doing string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == minio.NoSuchBucket:
			return fmt.Errorf("%s: %s: the bucket does not exist: %w", loc, doing, fs.ErrNotExist)
		case er.Code == minio.NoSuchKey || er.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s: %s: no such object: %w", loc, doing, fs.ErrNotExist)
		case er.StatusCode == http.StatusPreconditionFailed:
			return fmt.Errorf("%s: %s: %w", loc, doing, errChanged)
		}
	}
	return fmt.Errorf("%s: %s: %w", loc, doing, err)
}
