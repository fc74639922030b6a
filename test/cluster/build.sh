#!/usr/bin/env bash
# Builds what the test cluster runs, into the cache outside the checkout:
#   - the Kubernetes binaries, from the k8s.io/kubernetes module pinned by the wrapper module in
#     build/ (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl)
#   - the node's images (pause, and the toolbox image used for pre-loading and by the tests), from
#     the tiny static Go programs in images/
#
#   build.sh [all]     build whatever is missing (the default)
#   build.sh k8s       only the Kubernetes binaries
#   build.sh images    only the images
#   build.sh pin       regenerate build/go.mod and build/go.sum from versions.env (needs the proxy)
#   build.sh bindir    print the binaries' directory
#   build.sh imagedir  print the images' directory (building them if missing)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

k8s_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# The go command, local toolchain only, never writing the root module.
gocmd() { GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly" go "$@"; }

# Version ldflags the upstream release build sets (hack/lib/version.sh), so that `kubelet
# --version`, the apiserver's /version and the node's kubeletVersion say v1.X.Y.
version_ldflags() {
  local v=$KUBERNETES_VERSION major minor pkg flags="-s -w"
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# Builds the Kubernetes binaries under a lock into a temporary directory, then renames it into
# place: a killed build leaves at worst a *.tmp directory that the next build removes.
build_k8s() {
  if [ -x "$bin_dir/kubelet" ]; then return 0; fi
  mkdir -p "$k8s_cache"
  local lock start tmp
  exec {lock}>"$k8s_cache/build.lock"
  flock "$lock"
  if [ -x "$bin_dir/kubelet" ]; then exec {lock}>&-; return 0; fi
  check_k8s_pin
  tmp="$k8s_cache/bin.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  log "building Kubernetes $KUBERNETES_VERSION (${k8s_binaries[*]}); cold: 10-20 min on 2 cores, log in $k8s_cache/build.log"
  start=$(date +%s.%N)
  local pkgs=() b
  for b in "${k8s_binaries[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # nice: the machine is shared with other builds. CGO off: static binaries that do not depend
  # on the host's libc; -trimpath: no local paths in them.
  if ! (cd "$here/build" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly" nice -n 10 go build -trimpath \
          -ldflags "$(version_ldflags)" -o "$tmp/" "${pkgs[@]}") >"$k8s_cache/build.log" 2>&1; then
    tail -30 "$k8s_cache/build.log" >&2
    die "building Kubernetes failed; the log is $k8s_cache/build.log"
  fi
  local took; took=$(since "$start")
  printf 'kubernetes=%s\ngo=%s\nbuild_seconds=%s\nbuilt=%s\n' "$KUBERNETES_VERSION" \
    "$(go env GOVERSION)" "$took" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/BUILD-INFO"
  rm -rf "$bin_dir"; mv "$tmp" "$bin_dir"
  exec {lock}>&-
  log "built Kubernetes $KUBERNETES_VERSION in ${took}s into $bin_dir"
}

# The images depend only on the sources in images/, the Go version and the node architecture:
# their cache directory is keyed by a hash of those, so an edit rebuilds them and nothing else does.
image_key() {
  (cd "$here/images" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum; go env GOVERSION GOARCH; echo "$PAUSE_IMAGE $TOOLBOX_IMAGE") |
    sha256sum | cut -c1-16
}
image_dir() { echo "$cache/cluster-images/$(go env GOARCH)-$(image_key)"; }

# Builds pause.tar and toolbox.tar (docker archives for `ctr images import`) with the image
# builder in images/imgbuild, tagged with the names in versions.env.
build_images() {
  local dir; dir=$(image_dir)
  if [ -f "$dir/toolbox.tar" ]; then return 0; fi
  mkdir -p "$cache/cluster-images"
  local lock tmp start
  exec {lock}>"$cache/cluster-images/build.lock"
  flock "$lock"
  if [ -f "$dir/toolbox.tar" ]; then exec {lock}>&-; return 0; fi
  check_images_pin
  start=$(date +%s.%N)
  tmp="$dir.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
  (
    cd "$here/images"
    export CGO_ENABLED=0
    # The programs run on the node: native architecture, static, stripped.
    gocmd build -trimpath -ldflags "-s -w" -o "$tmp/pause" ./pause
    gocmd build -trimpath -ldflags "-s -w" -o "$tmp/toolbox" ./toolbox
    gocmd build -trimpath -o "$tmp/imgbuild" ./imgbuild
    "$tmp/imgbuild" -bin "$tmp/pause" -tag "$PAUSE_IMAGE" -tar "$tmp/pause.tar"
    "$tmp/imgbuild" -bin "$tmp/toolbox" -cmd sleep -tag "$TOOLBOX_IMAGE" -tar "$tmp/toolbox.tar"
  ) >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; die "building the node images failed"; }
  rm -f "$tmp/imgbuild"; mv "$tmp.log" "$tmp/build.log"
  rm -rf "$dir"; mv "$tmp" "$dir"
  # Images of earlier sources are not needed any more (they rebuild in seconds).
  find "$cache/cluster-images" -mindepth 1 -maxdepth 1 -type d -name "$(go env GOARCH)-*" ! -path "$dir" -exec rm -rf {} +
  exec {lock}>&-
  log "built node images in $(since "$start")s into $dir"
}

# Fails when build/go.mod does not pin what versions.env says (someone edited one, not both).
check_k8s_pin() {
  grep -q "^require k8s.io/kubernetes $KUBERNETES_VERSION\$" "$here/build/go.mod" ||
    die "build/go.mod does not require k8s.io/kubernetes $KUBERNETES_VERSION (versions.env); run: $0 pin"
}
check_images_pin() {
  grep -q "github.com/google/go-containerregistry $GO_CONTAINERREGISTRY_VERSION\$" "$here/images/go.mod" ||
    die "images/go.mod does not require go-containerregistry $GO_CONTAINERREGISTRY_VERSION (versions.env)"
}

# Writes build/go.mod from versions.env: require k8s.io/kubernetes, and one replace line for each
# staging module that k8s.io/kubernetes's own go.mod replaces with ./staging/src/... (a module
# that does, cannot be required without these), then lets `go mod tidy` fill in the rest.
pin() {
  local upstream staging
  upstream=$(cd "$here/build" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    awk -F'"' '$2 == "GoMod" { print $4 }')
  [ -f "$upstream" ] || die "could not download k8s.io/kubernetes@$KUBERNETES_VERSION's go.mod"
  staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$upstream" | sort)
  {
    echo "// Wrapper module that pins the Kubernetes release the test cluster runs. Generated by"
    echo "// test/cluster/build.sh pin from test/cluster/versions.env: edit that file, not this one."
    echo "// k8s.io/kubernetes replaces its staging modules with local directories, which a module"
    echo "// requiring it must repeat with the published versions."
    echo "module github.com/openairgap/terraform-provider-airgap/test/cluster/build"
    echo
    awk '/^go / || /^godebug / { print }' "$upstream"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$KUBERNETES_STAGING_VERSION"; done
    echo ")"
  } >"$here/build/go.mod"
  (cd "$here/build" && GOTOOLCHAIN=local go mod tidy)
  check_k8s_pin
  log "pinned k8s.io/kubernetes $KUBERNETES_VERSION with $(echo "$staging" | wc -l) staging replaces"
}

case "${1:-all}" in
  all) build_k8s; build_images ;;
  k8s) build_k8s ;;
  images) build_images ;;
  pin) pin ;;
  bindir) echo "$bin_dir" ;;
  imagedir) build_images; image_dir ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
