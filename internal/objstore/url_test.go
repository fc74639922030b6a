package objstore

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, bucket, key, wantErr string
	}{
		{in: "s3://bundles/app/v1.tar", bucket: "bundles", key: "app/v1.tar"},
		{in: "s3://my.bucket-1/a?b#c d", bucket: "my.bucket-1", key: "a?b#c d"},
		{in: "s3://bundles/100%25.tar", bucket: "bundles", key: "100%25.tar"}, // no decoding
		{in: "/tmp/app.tar", wantErr: "must start with s3://"},
		{in: "S3://bundles/k", wantErr: "must start with s3://"},
		{in: "s3://bundles", wantErr: "no '/' after the bucket"},
		{in: "s3:///key", wantErr: "bucket name is empty"},
		{in: "s3://ab/key", wantErr: "3 to 63 characters"},
		{in: "s3://Bundles/key", wantErr: "start and end with a lowercase"},
		{in: "s3://bun_dles/key", wantErr: "only lowercase letters"},
		{in: "s3://bun..dles/key", wantErr: "two adjacent dots"},
		{in: "s3://10.0.0.1/key", wantErr: "IP address"},
		{in: "s3://bundles/", wantErr: "key is empty"},
		{in: "s3://bundles//key", wantErr: "starts with '/'"},
		{in: "s3://bundles/dir/", wantErr: "names a folder"},
		{in: "s3://bundles/a/../b", wantErr: "'..' path segment"},
		{in: "s3://bundles/a\nb", wantErr: "control character"},
		{in: "s3://bundles/" + strings.Repeat("k", 1025), wantErr: "more than S3's 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			loc, err := ParseURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", loc, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.Bucket != tt.bucket || loc.Key != tt.key {
				t.Fatalf("got %q %q", loc.Bucket, loc.Key)
			}
			if loc.String() != tt.in || !IsURL(tt.in) {
				t.Fatalf("does not round-trip: %s", loc)
			}
		})
	}
}
