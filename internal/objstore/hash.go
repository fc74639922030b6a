package objstore

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// partPlan cuts an object into parts of one size (the last one shorter). The cut depends only on
// the object's size, so an interrupted upload and its resumption agree on it.
type partPlan struct {
	size, partSize int64
}

func (c *Client) planParts(size int64) partPlan {
	ps := c.tune.partSize
	if ps <= 0 {
		ps = minPartSize
		if need := (size + maxParts - 1) / maxParts; need > ps {
			ps = (need + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
		}
	}
	return partPlan{size: size, partSize: ps}
}

func (p partPlan) count() int {
	if p.size == 0 {
		return 1
	}
	return int((p.size + p.partSize - 1) / p.partSize)
}

// span is part i's offset and length (i from 0; S3 numbers parts from 1).
func (p partPlan) span(i int) (int64, int64) {
	off := int64(i) * p.partSize
	return off, min(p.partSize, p.size-off)
}

// fileSum is a file's sha256 and the MD5 of each part: the MD5s go out as Content-MD5, so the
// store rejects a part that changed on the way, and they are what a part's ETag is compared with
// when an interrupted upload is resumed.
type fileSum struct {
	sha256 string
	parts  [][md5.Size]byte
}

// hashFile reads the file once and computes both.
func hashFile(ctx context.Context, f io.ReaderAt, plan partPlan) (fileSum, error) {
	whole := sha256.New()
	sum := fileSum{parts: make([][md5.Size]byte, plan.count())}
	buf := make([]byte, 1<<20)
	for i := range sum.parts {
		off, n := plan.span(i)
		part := md5.New()
		r := io.NewSectionReader(f, off, n)
		var got int64
		for {
			if err := ctx.Err(); err != nil {
				return fileSum{}, err
			}
			k, err := r.Read(buf)
			got += int64(k)
			whole.Write(buf[:k])
			part.Write(buf[:k])
			if err == io.EOF {
				break
			}
			if err != nil {
				return fileSum{}, err
			}
		}
		if got != n {
			return fileSum{}, fmt.Errorf("the file shrank while it was read: part %d has %d bytes, expected %d", i+1, got, n)
		}
		copy(sum.parts[i][:], part.Sum(nil))
	}
	sum.sha256 = hex.EncodeToString(whole.Sum(nil))
	return sum, nil
}
