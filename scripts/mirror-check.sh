#!/usr/bin/env bash
# Proves a provider mirror works where there is no network at all: checks SHA256SUMS and its
# signature (cosign, the real CLI), then, inside an empty network namespace, runs `init` and a
# plan of the enclave example with terraform and with tofu, from the mirror and its lock file.
#
# Usage: scripts/mirror-check.sh MIRROR BUNDLE VENDOR_PUB
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mirror=$(realpath "$1")
bundle=$(realpath "$2")
vendor_pub=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sums=$(ls "$mirror"/*_SHA256SUMS)
(cd "$mirror/registry.terraform.io/openairgap/airgap" && sha256sum --quiet -c "$sums")
unshare -n "$("$here/scripts/tools.sh" path cosign)" verify-blob --key "$mirror/airgap-release.pub" \
  --signature "$sums.sig" --insecure-ignore-tlog=true --offline=true "$sums" 2>&1 | grep -q 'Verified OK'
echo "mirror-check: SHA256SUMS and its signature verify"

cat >"$work/cli.tfrc" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/openairgap/airgap"]
  }
  direct { exclude = ["registry.terraform.io/openairgap/airgap"] }
}
CONFIG

for tool in terraform tofu; do
  if [ "$tool" = tofu ]; then bin=$("$here/scripts/tools.sh" path tofu); else bin=$(command -v terraform); fi
  dir="$work/$tool"
  mkdir -p "$dir"
  cp "$here/examples/quickstart/enclave/main.tf" "$mirror/.terraform.lock.hcl" "$dir/"
  # No network at all: anything either tool tried to fetch would fail the run.
  run() { unshare -n env TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 "$bin" -chdir="$dir" "$@"; }
  run init -input=false -no-color >"$dir/init.log" 2>&1 || { cat "$dir/init.log"; exit 1; }
  run plan -input=false -no-color -var "bundle=$bundle" -var "vendor_public_key=$vendor_pub" >"$dir/plan.log" 2>&1 ||
    { cat "$dir/plan.log"; exit 1; }
  grep -q 'bom_digest' "$dir/plan.log"
  echo "mirror-check: $tool init and plan from the mirror with no network: ok"
done
