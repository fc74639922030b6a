package objstore

import (
	"context"
	"fmt"
	"time"
)

// MaxPresignLifetime is the longest validity SigV4 allows a presigned link.
const MaxPresignLifetime = 7 * 24 * time.Hour

// PresignGet returns a link that fetches bucket/key without credentials for lifetime. It is
// signed for the presign endpoint (the externally reachable one), because the host is part of
// the signature. Nothing is sent to the store: the object's existence is not checked.
func (c *Client) PresignGet(ctx context.Context, bucket, key string, lifetime time.Duration) (string, error) {
	loc := Location{Bucket: bucket, Key: key}
	if err := checkBucket(bucket); err != nil {
		return "", err
	}
	if err := checkKey(key); err != nil {
		return "", err
	}
	if lifetime < time.Second || lifetime > MaxPresignLifetime {
		return "", fmt.Errorf("presigning %s: a link's lifetime must be between 1s and %s, not %s", loc, MaxPresignLifetime, lifetime)
	}
	u, err := c.presign.PresignedGetObject(ctx, bucket, key, lifetime, nil)
	if err != nil {
		return "", fmt.Errorf("presigning %s: %w", loc, err)
	}
	return u.String(), nil
}
