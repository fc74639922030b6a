package receipt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// SignatureSuffix is appended to a receipt file's path to name its signature file, as
// `cosign sign-blob --output-signature` would be told to.
const SignatureSuffix = ".sig"

// WriteFile writes a copy of the record beside the cluster's: the document, byte for byte, to
// path, and its signature to path+".sig" (removing a stale one when the record is unsigned). Each
// file is written to a temporary file in the same directory and renamed into place, mode 0644, so
// a reader never sees half a file.
func WriteFile(path string, rec *Record) error {
	sigPath := path + SignatureSuffix
	if rec.Signature != nil {
		if err := writeAtomic(sigPath, []byte(rec.Signature.Sig)); err != nil {
			return err
		}
	} else if err := os.Remove(sigPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale signature %s of an unsigned receipt: %w", sigPath, err)
	}
	return writeAtomic(path, rec.Document)
}

// ReadFile reads a receipt that WriteFile wrote; the signature file is optional. The signature is
// not judged here; see Record.Verify.
func ReadFile(path string) (*Record, error) {
	doc, err := readLimited(path, MaxDocumentSize)
	if err != nil {
		return nil, err
	}
	sig, err := readLimited(path+SignatureSuffix, 64<<10)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	rec, err := open(doc, string(sig))
	if err != nil {
		return nil, fmt.Errorf("receipt file %s: %w", path, err)
	}
	return rec, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the %d-byte limit for a receipt", path, limit)
	}
	return data, nil
}

func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing receipt file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing receipt file %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing receipt file %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing receipt file %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing receipt file %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing receipt file %s: %w", path, err)
	}
	return nil
}
