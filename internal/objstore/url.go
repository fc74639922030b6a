package objstore

import (
	"fmt"
	"net"
	"strings"
	"unicode/utf8"
)

// Scheme prefixes an object location wherever a bundle path is accepted.
const Scheme = "s3://"

// maxKeyBytes is S3's limit on the length of an object key.
const maxKeyBytes = 1024

// Location is an object named by an s3://bucket/key URL.
type Location struct {
	Bucket string
	Key    string
}

func (l Location) String() string { return Scheme + l.Bucket + "/" + l.Key }

// IsURL reports whether s names an object (s3://...) rather than a local path.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseURL parses s3://bucket/key. The key is taken verbatim (no percent-decoding, no query
// string): every byte after the bucket's slash is part of it, as S3 sees it.
func ParseURL(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Location{}, fmt.Errorf("%q is not an object URL: it must start with %s (s3://bucket/key)", s, Scheme)
	}
	bucket, key, ok := strings.Cut(rest, "/")
	if !ok {
		return Location{}, fmt.Errorf("%q names no object: expected s3://bucket/key, found no '/' after the bucket", s)
	}
	if err := checkBucket(bucket); err != nil {
		return Location{}, fmt.Errorf("%q: %w", s, err)
	}
	if err := checkKey(key); err != nil {
		return Location{}, fmt.Errorf("%q: %w", s, err)
	}
	return Location{Bucket: bucket, Key: key}, nil
}

// checkBucket applies S3's bucket naming rules, which path-style stores also enforce.
func checkBucket(b string) error {
	switch {
	case b == "":
		return fmt.Errorf("the bucket name is empty")
	case len(b) < 3 || len(b) > 63:
		return fmt.Errorf("bucket %q must be 3 to 63 characters long, not %d", b, len(b))
	case net.ParseIP(b) != nil:
		return fmt.Errorf("bucket %q must not be formatted as an IP address", b)
	case !alnum(b[0]) || !alnum(b[len(b)-1]):
		return fmt.Errorf("bucket %q must start and end with a lowercase letter or a digit", b)
	case strings.Contains(b, ".."):
		return fmt.Errorf("bucket %q must not contain two adjacent dots", b)
	}
	for _, c := range []byte(b) {
		if !alnum(c) && c != '.' && c != '-' {
			return fmt.Errorf("bucket %q may contain only lowercase letters, digits, '.' and '-', not %q", b, c)
		}
	}
	return nil
}

func checkKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("the object key is empty: expected s3://bucket/key")
	case len(k) > maxKeyBytes:
		return fmt.Errorf("the object key is %d bytes long, more than S3's %d", len(k), maxKeyBytes)
	case !utf8.ValidString(k):
		return fmt.Errorf("the object key is not valid UTF-8")
	case strings.HasPrefix(k, "/"):
		return fmt.Errorf("the object key %q starts with '/': write s3://bucket/key with a single slash", k)
	case strings.HasSuffix(k, "/"):
		return fmt.Errorf("the object key %q ends with '/', which names a folder, not an object", k)
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("the object key %q has an empty, '.' or '..' path segment, which S3-compatible stores reject or rewrite", k)
		}
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("the object key %q contains a control character", k)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
