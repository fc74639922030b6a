#!/usr/bin/env bash
# Builds the provider's filesystem mirror, what an operator carries into the enclave:
#
#   OUT/registry.terraform.io/openairgap/airgap/terraform-provider-airgap_VERSION_linux_{amd64,arm64}.zip
#   OUT/registry.opentofu.org/openairgap/airgap/...        the same zips, for tofu's default host
#   OUT/terraform-provider-airgap_VERSION_SHA256SUMS       sha256 of each zip
#   OUT/terraform-provider-airgap_VERSION_SHA256SUMS.sig   its signature (cosign sign-blob format)
#   OUT/airgap-release.pub                                 the public key that signature verifies under
#   OUT/.terraform.lock.hcl                                h1: hashes for both platforms
#
# `terraform providers mirror` cannot mirror a provider that exists only locally, so the tree is
# laid out here and the lock file written with `providers lock -fs-mirror`, which works offline.
# The signing key is $MIRROR_SIGNING_KEY (a cosign key; password in COSIGN_PASSWORD); without
# one, a development key kept in the cache (never in OUT, which travels) is used and the output
# says so.
#
# Usage: scripts/provider-mirror.sh [OUT]   (default dist/mirror; VERSION from $VERSION or 0.1.0)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$here/dist/mirror}")
version=${VERSION:-0.1.0}
source_addr=openairgap/airgap
name=terraform-provider-airgap
platforms=(linux_amd64 linux_arm64)

rm -rf "$out" && mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for p in "${platforms[@]}"; do
  mkdir -p "$work/$p"
  # Static, reproducible binaries: no cgo, no paths, no VCS stamp; the version is linked in.
  (cd "$here" && CGO_ENABLED=0 GOOS=${p%_*} GOARCH=${p#*_} go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$version" -o "$work/$p/${name}_v$version" .)
  # Fixed timestamps keep the zip, and so the lock file's zh: hashes, the same build to build.
  touch -d 1980-01-01T00:00:00Z "$work/$p/${name}_v$version"
  (cd "$work/$p" && zip -q -X -D "$work/${name}_${version}_$p.zip" "${name}_v$version")
done

for host in registry.terraform.io registry.opentofu.org; do
  mkdir -p "$out/$host/$source_addr"
  cp "$work"/*.zip "$out/$host/$source_addr/"
done
(cd "$work" && sha256sum ./*.zip | sed 's# \./# #') >"$out/${name}_${version}_SHA256SUMS"

key=${MIRROR_SIGNING_KEY:-}
if [ -z "$key" ]; then
  devkeys=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}/dev-release-key
  key=$devkeys/airgap-release.key
  echo "provider-mirror: MIRROR_SIGNING_KEY is not set: signing with the development key $key" >&2
  export COSIGN_PASSWORD=${COSIGN_PASSWORD:-dev}
  [ -f "$key" ] || (cd "$here" && go run ./cmd/airgap-dev keygen -out "$devkeys" -name airgap-release)
fi
(cd "$here" && go run ./cmd/airgap-dev sign -key "$key" -out "$out/${name}_${version}_SHA256SUMS.sig" \
  -pub "$out/airgap-release.pub" "$out/${name}_${version}_SHA256SUMS")

# The lock file: both platforms' h1: hashes, recorded from the mirror itself, offline.
cat >"$work/main.tf" <<EOF
terraform {
  required_providers {
    airgap = { source = "registry.terraform.io/$source_addr", version = "$version" }
  }
}
EOF
(cd "$work" && TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 terraform providers lock -fs-mirror="$out" \
  $(printf -- '-platform=%s ' "${platforms[@]}") >/dev/null)
cp "$work/.terraform.lock.hcl" "$out/.terraform.lock.hcl"
echo "provider-mirror: wrote $out (version $version, ${platforms[*]})"
