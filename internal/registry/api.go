package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The distribution API calls the engine makes. Each one is a single request (a tag lookup
// without a digest header is the one exception), so counting requests counts work.

// manifestDigest returns the digest ref (a tag or a digest) resolves to in repo, or "" when the
// registry has no such manifest.
func (c *client) manifestDigest(ctx context.Context, repo, ref string) (string, error) {
	req, err := newRequest(ctx, http.MethodHead, c.url(repo, "manifests", ref))
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return "", nil
	case http.StatusOK:
	default:
		return "", transport.CheckError(resp, http.StatusOK)
	}
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
		return d, nil
	}
	if isDigest(ref) {
		return ref, nil
	}
	// The header is optional: hash what the tag serves.
	return c.manifestDigestByGet(ctx, repo, ref)
}

func (c *client) manifestDigestByGet(ctx context.Context, repo, ref string) (string, error) {
	req, err := newRequest(ctx, http.MethodGet, c.url(repo, "manifests", ref))
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.send(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(resp.Body, maxManifestSize)); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// blobExists asks whether repo holds a blob.
func (c *client) blobExists(ctx context.Context, repo, digest string) (bool, error) {
	req, err := newRequest(ctx, http.MethodHead, c.url(repo, "blobs", digest))
	if err != nil {
		return false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, transport.CheckError(resp, http.StatusOK)
}

// startUpload opens an upload session in repo. With from set it asks for a cross-repository
// mount first: mounted is true when the registry linked the blob and no bytes are needed; a
// registry that does not mount answers with an ordinary session instead.
func (c *client) startUpload(ctx context.Context, repo, digest, from string) (location string, mounted bool, err error) {
	u := c.url(repo, "blobs", "uploads/")
	if from != "" {
		u += "?" + url.Values{"mount": {digest}, "from": {from}}.Encode()
	}
	req, err := newRequest(ctx, http.MethodPost, u)
	if err != nil {
		return "", false, err
	}
	resp, err := c.send(req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return "", false, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return "", true, nil
	}
	loc, err := resp.Location()
	if err != nil {
		return "", false, fmt.Errorf("the registry opened an upload without a Location: %w", err)
	}
	return loc.String(), false, nil
}

// putBlob sends a blob's bytes in one request and commits the upload under its digest.
func (c *client) putBlob(ctx context.Context, location, digest string, body io.Reader, size int64) error {
	u, err := url.Parse(location)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", digest)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.send(req, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// cancelUpload gives up an upload session so that the registry can drop its partial bytes at
// once; failing to is harmless (the registry purges stale uploads), so errors are ignored.
func (c *client) cancelUpload(location string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := newRequest(ctx, http.MethodDelete, location)
	if err != nil {
		return
	}
	if resp, err := c.http.Do(req); err == nil {
		resp.Body.Close()
	}
}

// putManifest stores a manifest's exact bytes under ref (its digest, or a tag).
func (c *client) putManifest(ctx context.Context, repo, ref, mediaType string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url(repo, "manifests", ref), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.send(req, http.StatusCreated, http.StatusOK)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// errDeleteUnsupported is a registry that refuses deletes (Distribution without
// storage.delete.enabled, or one that cannot delete tags).
var errDeleteUnsupported = errors.New("the registry does not allow deleting manifests or tags (for Distribution, set storage.delete.enabled)")

// deleteManifest deletes a manifest by digest or a tag; found is false when it was already gone.
func (c *client) deleteManifest(ctx context.Context, repo, ref string) (found bool, err error) {
	req, err := newRequest(ctx, http.MethodDelete, c.url(repo, "manifests", ref))
	if err != nil {
		return false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	case http.StatusMethodNotAllowed:
		return false, errDeleteUnsupported
	}
	err = transport.CheckError(resp, http.StatusAccepted)
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.UnsupportedErrorCode:
				return false, errDeleteUnsupported
			case transport.ManifestUnknownErrorCode:
				return false, nil
			}
		}
	}
	return false, err
}
