#!/usr/bin/env bash
# Mirror engine benchmark: a corpus of 12 images (4 two-platform indexes, one layer shared by
# all) with 1.1 GB of unique incompressible layers, generated once and kept in the cache with its
# bundle and extracted OCI layout. Each contender pushes into a fresh CNCF Distribution registry
# (the real program, filesystem storage on the same disk); our Mirror runs twice, on the verified
# (sealed) bundle as the provider does and on an unverified one that it hashes with SHA-256 while
# streaming. Prints seconds, MB/s and ratios
# against `crane push --index` and `skopeo copy --all`. Extra flags go to the program
# (-bytes, -images, -jobs, -rounds, -ours-only, -cpuprofile). Each contender runs -rounds times
# (default 3), interleaved; the table shows its fastest, since the machine is shared.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cache=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}
work="$cache/bench/mirror"
mkdir -p "$work"

registry=$(bash scripts/tools.sh path registry)
crane=$(bash scripts/tools.sh path crane)
if ! command -v skopeo >/dev/null; then
  echo "run.sh: installing skopeo from Debian" >&2
  apt-get update -qq && apt-get install -y -qq skopeo >/dev/null
fi

go build -o "$work/bench-mirror" ./bench/mirror
# nice: the machine is shared; every contender runs under the same priority.
exec nice "$work/bench-mirror" -dir "$work" -registry "$registry" -crane "$crane" -skopeo "$(command -v skopeo)" "$@"
