package objstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
)

// putMultipart sends the parts the store does not already hold and completes the upload. It
// returns how many parts were kept from an interrupted upload and how many bytes it sent.
func (c *Client) putMultipart(ctx context.Context, loc Location, f io.ReaderAt, plan partPlan, sum fileSum) (int, int64, error) {
	uploadID, kept, err := c.resumable(ctx, loc, plan, sum)
	if err != nil {
		return 0, 0, err
	}
	sent, err := c.complete(ctx, loc, uploadID, kept, f, plan, sum)
	if err != nil || len(kept) == 0 {
		return len(kept), sent, err
	}
	// The digest was recorded when the upload started. A resumed upload whose parts matched but
	// which was started for other bytes (the same head, another tail) carries another digest:
	// send everything afresh.
	if ok, err := c.holds(ctx, loc, plan.size, sum.sha256); err != nil || ok {
		return len(kept), sent, err
	}
	more, err := c.complete(ctx, loc, "", nil, f, plan, sum)
	return 0, sent + more, err
}

// complete sends the parts missing from kept into the upload uploadID (a new one when empty)
// and completes it.
func (c *Client) complete(ctx context.Context, loc Location, uploadID string, kept map[int]string, f io.ReaderAt, plan partPlan, sum fileSum) (int64, error) {
	if uploadID == "" {
		var err error
		if uploadID, err = c.core.NewMultipartUpload(ctx, loc.Bucket, loc.Key, putOptions(sum)); err != nil {
			return 0, fmt.Errorf("starting a multipart upload: %w", err)
		}
	}
	parts := make([]minio.CompletePart, plan.count())
	var todo []int
	for i := range parts {
		if etag, ok := kept[i+1]; ok {
			parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: etag}
		} else {
			todo = append(todo, i)
		}
	}
	sent, err := c.sendParts(ctx, loc, uploadID, f, plan, sum, todo, parts)
	if err != nil {
		// The upload is not aborted: its parts are what the next call resumes from.
		return sent, err
	}
	if _, err := c.core.CompleteMultipartUpload(ctx, loc.Bucket, loc.Key, uploadID, parts, minio.PutObjectOptions{}); err != nil {
		return sent, fmt.Errorf("completing the multipart upload: %w", err)
	}
	return sent, nil
}

// sendParts uploads the parts in todo (indexes from 0) on a few workers and fills in their
// ETags. The first failure stops the others.
func (c *Client) sendParts(ctx context.Context, loc Location, uploadID string, f io.ReaderAt, plan partPlan, sum fileSum, todo []int, parts []minio.CompletePart) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < max(1, c.tune.workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				n, err := c.sendPart(ctx, loc, uploadID, f, plan, sum, i, parts)
				sent.Add(n)
				if err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return sent.Load(), err
	}
	return sent.Load(), nil
}

func (c *Client) sendPart(ctx context.Context, loc Location, uploadID string, f io.ReaderAt, plan partPlan, sum fileSum, i int, parts []minio.CompletePart) (int64, error) {
	if hook := c.tune.beforePart; hook != nil {
		hook(i + 1)
	}
	off, n := plan.span(i)
	part, err := c.core.PutObjectPart(ctx, loc.Bucket, loc.Key, uploadID, i+1, io.NewSectionReader(f, off, n), n,
		minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(sum.parts[i][:])})
	if err != nil {
		return 0, fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
	}
	parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: part.ETag}
	if hook := c.tune.afterPart; hook != nil {
		hook(i + 1)
	}
	return n, nil
}

// resumable finds an unfinished upload of this key whose every uploaded part has the size and
// the MD5 (its ETag) of the same part of the local file, newest first, and returns its ID and
// those parts' ETags by part number. None found: an empty ID. Uploads that do not match are
// left alone (the store expires them); they may belong to another writer.
func (c *Client) resumable(ctx context.Context, loc Location, plan partPlan, sum fileSum) (string, map[int]string, error) {
	list, err := c.core.ListMultipartUploads(ctx, loc.Bucket, loc.Key, "", "", "", 1000)
	if err != nil {
		if unsupported(err) {
			return "", nil, nil // a store that cannot list uploads gets a fresh one
		}
		return "", nil, fmt.Errorf("listing unfinished uploads: %w", err)
	}
	uploads := list.Uploads
	sort.SliceStable(uploads, func(i, j int) bool { return uploads[i].Initiated.After(uploads[j].Initiated) })
	for _, u := range uploads {
		if u.Key != loc.Key {
			continue
		}
		kept, err := c.matchingParts(ctx, loc, u.UploadID, plan, sum)
		if err != nil {
			return "", nil, err
		}
		if len(kept) > 0 {
			return u.UploadID, kept, nil
		}
	}
	return "", nil, nil
}

// matchingParts lists an upload's parts; nil unless every one matches the local file.
func (c *Client) matchingParts(ctx context.Context, loc Location, uploadID string, plan partPlan, sum fileSum) (map[int]string, error) {
	kept := map[int]string{}
	marker := 0
	for {
		res, err := c.core.ListObjectParts(ctx, loc.Bucket, loc.Key, uploadID, marker, 1000)
		if err != nil {
			var er minio.ErrorResponse
			if errors.As(err, &er) && er.Code == "NoSuchUpload" {
				return nil, nil // finished or aborted since it was listed
			}
			return nil, fmt.Errorf("listing the parts of unfinished upload %s: %w", uploadID, err)
		}
		for _, p := range res.ObjectParts {
			i := p.PartNumber - 1
			if i < 0 || i >= plan.count() {
				return nil, nil
			}
			_, n := plan.span(i)
			etag := strings.Trim(p.ETag, `"`)
			if p.Size != n || !strings.EqualFold(etag, hex.EncodeToString(sum.parts[i][:])) {
				return nil, nil
			}
			kept[p.PartNumber] = etag
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return kept, nil
		}
		marker = res.NextPartNumberMarker
	}
}

func unsupported(err error) bool {
	var er minio.ErrorResponse
	return errors.As(err, &er) && (er.Code == "NotImplemented" || er.Code == "AccessDenied")
}
