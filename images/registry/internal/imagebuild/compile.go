package imagebuild

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// compile builds the registry in src for one platform into dir and returns the binary's path.
// Static (no cgo), without paths or VCS stamps, stripped: the same sources and toolchain give the
// same bytes.
func compile(ctx context.Context, src, dir string, p platform, version string, stderr io.Writer) (string, error) {
	out := filepath.Join(dir, "registry-"+p.os+"-"+p.arch)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("compiling the registry for %s: %w", p, err)
	}
	return out, nil
}
