#!/usr/bin/env bash
# Builds the third-party programs the tests run for real (OpenTofu, cosign, crane, the CNCF
# Distribution registry, MinIO, tfplugindocs) from the Go module proxy, into a cache outside the
# checkout keyed by name and version, so that a fresh clone on the same machine reuses them.
#
#   scripts/tools.sh build NAME...   build what is missing (in parallel), quietly
#   scripts/tools.sh path NAME       print the cached binary's path (building it if missing)
#   scripts/tools.sh list            print NAME VERSION for every pinned tool
#
# The cache root is $AIRGAP_CACHE, by default ${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}

# name  version  how (install: `go install PKG@VERSION`; tofu: the wrapper module in tools/tofu)
pins() {
  cat <<'EOF'
tofu          v1.10.10                            wrapper  tools/tofu github.com/opentofu/opentofu/cmd/tofu
cosign        v2.6.5                              install  github.com/sigstore/cosign/v2/cmd/cosign
crane         v0.22.1                             install  github.com/google/go-containerregistry/cmd/crane
registry      v3.1.2                              install  github.com/distribution/distribution/v3/cmd/registry
minio         v0.0.0-20260212201848-7aac2a2c5b7c  install  github.com/minio/minio
EOF
}

pin() { pins | awk -v n="$1" '$1 == n { print; found = 1 } END { if (!found) exit 1 }' ||
  { echo "tools.sh: no pinned tool named '$1' (see: scripts/tools.sh list)" >&2; exit 2; }; }

bin_path() { local v; v=$(pin "$1" | awk '{print $2}'); echo "$cache/tools/$1-$v/$1"; }

build_one() {
  local name=$1 version how a b out dir log start
  read -r _ version how a b <<<"$(pin "$name")"
  out=$(bin_path "$name"); dir=$(dirname "$out"); log="$dir.log"
  [ -x "$out" ] && return 0
  mkdir -p "$cache/tools"
  exec {lock}>"$dir.lock"
  flock "$lock"                              # another build of the same tool may be under way
  if [ -x "$out" ]; then exec {lock}>&-; return 0; fi
  start=$(date +%s)
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  # CGO off and -trimpath: static, reproducible binaries; the toolchain is the one installed here.
  if [ "$how" = wrapper ]; then
    (cd "$here/$a" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath \
      -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$dir.tmp/$name" "$b") >"$log" 2>&1
  else
    CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$dir.tmp" go install -trimpath -ldflags "-s -w" "$a@$version" >"$log" 2>&1
  fi || { echo "tools.sh: building $name $version failed; the log is $log:" >&2; tail -20 "$log" >&2; exit 1; }
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  echo "tools.sh: built $name $version in $(( $(date +%s) - start ))s" >&2
  exec {lock}>&-
}

case "${1:-}" in
  list) pins | awk '{print $1, $2}' ;;
  path) build_one "$2"; bin_path "$2" ;;
  build)
    shift; pids=()
    for name in "$@"; do build_one "$name" & pids+=($!); done
    rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
