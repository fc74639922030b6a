#!/usr/bin/env bash
# Builds the signed system bundle: what an enclave needs, besides the provider mirror, to give a
# new cluster its registry. It is a bundle like any other (docs/guides/bundle-format.md):
#
#   OUT/airgap-system-VERSION.tar
#     oci/...                      openairgap/registry:VERSION, an OCI image index for
#                                  linux/amd64 and linux/arm64 (images/registry)
#     files/injector-linux-amd64   the injector (injector/), static
#     files/injector-linux-arm64
#
# The registry image is built without Docker by images/registry/build and cached under
# CACHE/system/VERSION/registry-HASH, where HASH covers the registry's sources and the Go
# toolchain, so that a second run only rebuilds the injector (make: nothing to do) and the bundle.
# The signing key is $SYSTEM_SIGNING_KEY (a cosign key; password in COSIGN_PASSWORD); without one,
# the development key of scripts/provider-mirror.sh (kept in the cache, never in OUT) signs, and
# the output says so. The bundle's creation time is $SOURCE_DATE_EPOCH if set, else now.
#
# Usage: scripts/system-bundle.sh [OUT]   (default dist/system; VERSION from $VERSION or 0.1.0)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$here/dist/system}")
version=${VERSION:-0.1.0}
cache=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}
image=openairgap/registry:$version
bundle=$out/airgap-system-$version.tar
start=$(date +%s)

# The injector: make rebuilds only what changed.
nice make -s -C "$here/injector" all

# The registry image, keyed by everything that goes into it: the module's non-test sources, its
# go.mod and go.sum, the toolchain, and the version (linked in, and the tag).
src=$here/images/registry
hash=$( (cd "$src" && find . -type f \( \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod -o -name go.sum \) \
  -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; go version) | sha256sum | cut -c1-16)
layout=$cache/system/$version/registry-$hash
if [ -f "$layout/index.json" ]; then
  echo "system-bundle: registry image cached at $layout" >&2
else
  mkdir -p "$(dirname "$layout")"
  echo "system-bundle: building $image for linux/amd64 and linux/arm64 (a few minutes when cold)" >&2
  (cd "$src" && nice go run ./build -out "$layout" -version "$version") >&2
  # Older builds of this version are stale now.
  find "$(dirname "$layout")" -mindepth 1 -maxdepth 1 -name 'registry-*' ! -path "$layout" -exec rm -rf {} +
fi

key=${SYSTEM_SIGNING_KEY:-}
if [ -z "$key" ]; then
  devkeys=$cache/dev-release-key
  key=$devkeys/airgap-release.key
  echo "system-bundle: SYSTEM_SIGNING_KEY is not set: signing with the development key $key" >&2
  export COSIGN_PASSWORD=${COSIGN_PASSWORD:-dev}
  [ -f "$key" ] || (cd "$here" && go run ./cmd/airgap-dev keygen -out "$devkeys" -name airgap-release)
fi

mkdir -p "$out"
(cd "$here" && nice go run ./cmd/airgap-dev bundle -name airgap-system -version "$version" -out "$bundle" -key "$key" \
  -layout "$layout" -image "$image" \
  -file "injector-linux-amd64=$here/injector/bin/injector-linux-amd64" \
  -file "injector-linux-arm64=$here/injector/bin/injector-linux-arm64")
echo "system-bundle: wrote $bundle in $(( $(date +%s) - start ))s" >&2
