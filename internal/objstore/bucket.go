package objstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// EnsureBucket creates bucket unless it exists. A store that answers "already exists" (another
// writer created it between our check and our request, or it was there all along) is success:
// a pre-existing bucket is the normal case on every run after the first.
func (c *Client) EnsureBucket(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	// Asking first means a key allowed to write objects but not to create buckets still works
	// against a bucket the operator made.
	ok, err := c.data.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: checking that it exists: %w", bucket, err)
	}
	if ok {
		return nil
	}
	err = c.data.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: c.region})
	if err == nil || alreadyExists(err) {
		return nil
	}
	return fmt.Errorf("bucket %s: creating it: %w", bucket, err)
}

func alreadyExists(err error) bool {
	var er minio.ErrorResponse
	return errors.As(err, &er) && (er.Code == "BucketAlreadyOwnedByYou" || er.Code == "BucketAlreadyExists")
}
