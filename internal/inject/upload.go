package inject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// maxPayloadSize is the injector's limit (injector/chunks.c): it holds the payload in memory.
const maxPayloadSize = 2<<30 - 1

// uploaded describes a payload written into chunk ConfigMaps.
type uploaded struct {
	digest string
	size   int64
	chunks int
	took   time.Duration
}

var errStopped = errors.New("upload stopped")

// uploadChunks writes the payload of images straight into chunk ConfigMaps: WritePayload streams
// into a pipe, Chunks cuts it, and at most req.Concurrency creations are in flight, so memory
// stays at a few chunks whatever the payload's size and the API server and etcd see a steady
// trickle of 512 KiB writes instead of a burst. The digest is known once the last byte is written,
// which is before the pod that needs it exists.
func (req Request) uploadChunks(ctx context.Context, cs kubernetes.Interface, images []PayloadImage) (uploaded, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	pr, pw := io.Pipe()
	type result struct {
		digest string
		size   int64
		err    error
	}
	written := make(chan result, 1)
	go func() {
		digest, size, err := WritePayload(pw, images)
		pw.CloseWithError(err) // nil: the reader sees EOF
		written <- result{digest, size, err}
	}()

	var (
		wg    sync.WaitGroup
		slots = make(chan struct{}, req.Concurrency)
		n     int
		total int64
	)
chunks:
	for c, err := range Chunks(pr, req.ChunkSize) {
		if err != nil {
			cancel(fmt.Errorf("writing the payload: %w", err))
			break
		}
		if total += int64(len(c.Data)); total > maxPayloadSize {
			cancel(fmt.Errorf("the payload is larger than the injector's limit of 2 GiB (it holds it in memory): inject only the registry image, and push the rest through the registry"))
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break chunks
		}
		n++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := createConfigMap(ctx, cs, req.chunkConfigMap(c)); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	pr.CloseWithError(errStopped) // unblocks WritePayload if the loop stopped early
	w := <-written
	if err := context.Cause(ctx); err != nil {
		return uploaded{}, err
	}
	if w.err != nil {
		return uploaded{}, fmt.Errorf("writing the payload: %w", w.err)
	}
	return uploaded{digest: w.digest, size: w.size, chunks: n, took: time.Since(start)}, nil
}

// createConfigMap creates cm, retrying what an API server under load answers (throttling,
// timeouts). A retry that finds the ConfigMap already there means an earlier attempt landed:
// Preflight has made sure no older one existed.
func createConfigMap(ctx context.Context, cs kubernetes.Interface, cm *corev1.ConfigMap) error {
	attempts := 0
	backoff := wait.Backoff{Steps: 5, Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.2}
	err := retry.OnError(backoff, transient, func() error {
		attempts++
		_, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) && attempts > 1 {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("creating ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

func transient(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}
