package objstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	miniotest "github.com/openairgap/terraform-provider-airgap/test/minio"
)

func TestABucketThatExistsIsNoError(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	ctx := context.Background()
	must(t, c.EnsureBucket(ctx, "bundles"))
	must(t, c.EnsureBucket(ctx, "bundles"))
	// The race EnsureBucket tolerates: the bucket appears between the check and the request.
	err := c.data.MakeBucket(ctx, "bundles", minio.MakeBucketOptions{})
	if !alreadyExists(err) {
		t.Fatalf("MinIO answered %v, which alreadyExists does not recognise", err)
	}
	_, err = c.Upload(ctx, "bundles", "a.tar", randomFile(t, 1000, 1))
	must(t, err)
}

func TestUploadSkipsTheSameBytes(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	c.tune.partSize = 5 << 20
	ctx := context.Background()
	for _, size := range []int64{0, 1000, 12 << 20} { // empty, one PUT, multipart
		path := randomFile(t, size, 7)
		first, err := c.Upload(ctx, "bundles", "same.tar", path)
		must(t, err)
		again, err := c.Upload(ctx, "bundles", "same.tar", path)
		must(t, err)
		if first.Skipped || !again.Skipped || again.Sent != 0 || again.SHA256 != first.SHA256 {
			t.Fatalf("size %d: first %+v, again %+v", size, first, again)
		}
		if sum, n := objectSHA256(t, c, "bundles", "same.tar"); sum != first.SHA256 || n != size {
			t.Fatalf("size %d: the object holds %d bytes, sha256 %s", size, n, sum)
		}
	}
	// Other bytes under the same key replace the object.
	other := randomFile(t, 12<<20, 8)
	res, err := c.Upload(ctx, "bundles", "same.tar", other)
	must(t, err)
	if res.Skipped || res.Sent != 12<<20 {
		t.Fatalf("other bytes: %+v", res)
	}
	if sum, _ := objectSHA256(t, c, "bundles", "same.tar"); sum != fileSHA256(t, other) {
		t.Fatal("the object was not replaced")
	}
}

// MinIO is killed in the middle of a 200 MB upload and started again on the same data: the next
// Upload keeps the parts that arrived and sends only the rest.
func TestUploadResumesAfterTheStoreRestarts(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	const size, partSize = 200 << 20, 5 << 20
	c.tune.partSize = partSize
	c.tune.workers = 2
	path := randomFile(t, size, 3)
	want := fileSHA256(t, path)
	ctx := context.Background()

	var done atomic.Int32
	tenParts := make(chan struct{})
	c.tune.afterPart = func(int) {
		if done.Add(1) == 10 {
			close(tenParts)
		}
	}
	failed := make(chan error, 1)
	go func() {
		_, err := c.Upload(ctx, "bundles", "big.tar", path)
		failed <- err
	}()
	select {
	case <-tenParts:
	case err := <-failed:
		t.Fatalf("the upload ended before ten parts were sent: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("ten parts were not sent in two minutes")
	}
	srv.Kill()
	killedAt := time.Now()
	err := <-failed
	if err == nil {
		t.Fatal("the upload succeeded although the store was killed in the middle")
	}
	t.Logf("after the kill, Upload gave up in %s: %v", time.Since(killedAt).Round(time.Millisecond), err)

	srv.Restart()
	c2 := newClient(t, srv.Endpoint, nil)
	c2.tune.partSize = partSize
	start := time.Now()
	res, err := c2.Upload(ctx, "bundles", "big.tar", path)
	must(t, err)
	t.Logf("the second Upload kept %d parts, sent %d MiB in %s", res.Resumed, res.Sent>>20, time.Since(start).Round(time.Millisecond))
	if res.Resumed < 10 || res.Sent > size-10*partSize || res.Sent+int64(res.Resumed)*partSize != size {
		t.Fatalf("not resumed: %+v", res)
	}
	if sum, n := objectSHA256(t, c2, "bundles", "big.tar"); sum != want || n != size {
		t.Fatalf("the object holds %d bytes with sha256 %s, want %s", n, sum, want)
	}
	// Nothing unfinished is left behind.
	list, err := c2.core.ListMultipartUploads(ctx, "bundles", "big.tar", "", "", "", 10)
	must(t, err)
	if len(list.Uploads) != 0 {
		t.Fatalf("unfinished uploads remain: %+v", list.Uploads)
	}
}

// An interrupted upload of other bytes is not resumed: its parts do not match.
func TestUploadDoesNotResumeOtherBytes(t *testing.T) {
	srv := miniotest.Start(t)
	c := newClient(t, srv.Endpoint, nil)
	c.tune.partSize = 5 << 20
	ctx := context.Background()
	must(t, c.EnsureBucket(ctx, "bundles"))
	stale, other := randomFile(t, 12<<20, 1), randomFile(t, 12<<20, 2)

	// Leave an unfinished upload of `stale` with its first part sent.
	plan := c.planParts(12 << 20)
	f := openFile(t, stale)
	sum, err := hashFile(ctx, f, plan)
	must(t, err)
	id, err := c.core.NewMultipartUpload(ctx, "bundles", "k.tar", putOptions(sum))
	must(t, err)
	_, err = c.sendParts(ctx, Location{"bundles", "k.tar"}, id, f, plan, sum, []int{0}, make([]minio.CompletePart, plan.count()))
	must(t, err)

	res, err := c.Upload(ctx, "bundles", "k.tar", other)
	must(t, err)
	if res.Resumed != 0 || res.Sent != 12<<20 {
		t.Fatalf("%+v", res)
	}
	if got, _ := objectSHA256(t, c, "bundles", "k.tar"); got != fileSHA256(t, other) {
		t.Fatal("the object is not the file")
	}
	// The same bytes are resumed.
	id2, err := c.core.NewMultipartUpload(ctx, "bundles", "k2.tar", putOptions(sum))
	must(t, err)
	_, err = c.sendParts(ctx, Location{"bundles", "k2.tar"}, id2, f, plan, sum, []int{0}, make([]minio.CompletePart, plan.count()))
	must(t, err)
	res, err = c.Upload(ctx, "bundles", "k2.tar", stale)
	must(t, err)
	if res.Resumed != 1 || res.Sent != 12<<20-5<<20 {
		t.Fatalf("%+v", res)
	}
	if got, _ := objectSHA256(t, c, "bundles", "k2.tar"); got != fileSHA256(t, stale) {
		t.Fatal("the resumed object is not the file")
	}
}

func TestUploadRefusesBadInput(t *testing.T) {
	c := newClient(t, "127.0.0.1:1", nil) // nothing listens: no request may be needed
	ctx := context.Background()
	for _, tt := range []struct{ bucket, key, path string }{
		{"Bad", "k", "x"}, {"bundles", "", "x"}, {"bundles", "k", "/no/such/file"}, {"bundles", "k", t.TempDir()},
	} {
		if _, err := c.Upload(ctx, tt.bucket, tt.key, tt.path); err == nil {
			t.Errorf("%+v: accepted", tt)
		} else if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%+v: went to the network: %v", tt, err)
		}
	}
}
