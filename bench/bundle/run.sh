#!/usr/bin/env bash
# Bundle engine benchmark: a corpus of 12 images with 1.1 GB of unique layers, kept in the cache
# between runs. Prints ratios against sha256sum and a one-core hash of the same bytes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cache=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}
go run ./bench/bundle -dir "$cache/bench/bundle" "$@"
