package objstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
)

// metaSHA256 is the user metadata (x-amz-meta-sha256) that records an object's digest at
// upload, so that a later upload of the same bytes is skipped without reading the object.
const metaSHA256 = "sha256"

const (
	minPartSize   = 16 << 20 // parts of 16 MiB: few requests, a cheap resume point
	maxParts      = 10000    // S3's limit per multipart upload
	maxObjectSize = 5 << 40  // S3's limit per object
)

// Uploaded says what an Upload did.
type Uploaded struct {
	Size    int64
	SHA256  string // hex digest of the local file, also stored as x-amz-meta-sha256
	Skipped bool   // the object already held these bytes: nothing was sent
	Resumed int    // parts of an interrupted multipart upload that were kept, not sent again
	Sent    int64  // bytes sent by this call
}

// tuning holds knobs only tests turn: small parts, hooks around each part.
type tuning struct {
	partSize   int64
	workers    int
	beforePart func(part int)
	afterPart  func(part int)
}

func defaultTuning() tuning { return tuning{workers: 4} }

// Upload copies the local file at path to bucket/key, creating the bucket if it is missing. An
// object that already has the same size and sha256 is left alone. Files larger than one part
// go up as a multipart upload that a later call resumes after an interruption (a store
// restarted, a connection lost): parts already on the store whose MD5 matches the local bytes
// are kept, and only the rest is sent.
func (c *Client) Upload(ctx context.Context, bucket, key, path string) (Uploaded, error) {
	loc := Location{Bucket: bucket, Key: key}
	if err := checkBucket(bucket); err != nil {
		return Uploaded{}, err
	}
	if err := checkKey(key); err != nil {
		return Uploaded{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Uploaded{}, fmt.Errorf("uploading to %s: %w", loc, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Uploaded{}, fmt.Errorf("uploading %s to %s: %w", path, loc, err)
	}
	if !st.Mode().IsRegular() {
		return Uploaded{}, fmt.Errorf("uploading %s to %s: not a regular file", path, loc)
	}
	size := st.Size()
	if size > maxObjectSize {
		return Uploaded{}, fmt.Errorf("uploading %s to %s: %d bytes is more than the 5 TiB an object may hold", path, loc, size)
	}
	plan := c.planParts(size)
	sum, err := hashFile(ctx, f, plan)
	if err != nil {
		return Uploaded{}, fmt.Errorf("uploading %s to %s: hashing it: %w", path, loc, err)
	}
	res := Uploaded{Size: size, SHA256: sum.sha256}
	if err := c.EnsureBucket(ctx, bucket); err != nil {
		return res, err
	}
	if same, err := c.holds(ctx, loc, size, sum.sha256); err != nil {
		return res, err
	} else if same {
		res.Skipped = true
		return res, nil
	}
	if plan.count() == 1 {
		if err = c.putSingle(ctx, loc, f, size, sum); err == nil {
			res.Sent = size
		}
	} else {
		res.Resumed, res.Sent, err = c.putMultipart(ctx, loc, f, plan, sum)
	}
	if err != nil {
		return res, fmt.Errorf("uploading %s to %s: %w", path, loc, err)
	}
	return res, nil
}

// holds reports whether the object exists with this size and recorded digest.
func (c *Client) holds(ctx context.Context, loc Location, size int64, sha string) (bool, error) {
	info, err := c.data.StatObject(ctx, loc.Bucket, loc.Key, minio.StatObjectOptions{})
	if err != nil {
		err = describe(loc, "checking whether it is already uploaded", err)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return info.Size == size && recordedSHA256(info) == sha, nil
}

func recordedSHA256(info minio.ObjectInfo) string {
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, metaSHA256) {
			return v
		}
	}
	return ""
}

func (c *Client) putSingle(ctx context.Context, loc Location, f io.ReaderAt, size int64, sum fileSum) error {
	_, err := c.core.PutObject(ctx, loc.Bucket, loc.Key, io.NewSectionReader(f, 0, size), size,
		base64.StdEncoding.EncodeToString(sum.parts[0][:]), "", putOptions(sum))
	return err
}

func putOptions(sum fileSum) minio.PutObjectOptions {
	return minio.PutObjectOptions{
		UserMetadata: map[string]string{metaSHA256: sum.sha256},
		ContentType:  "application/octet-stream",
	}
}
