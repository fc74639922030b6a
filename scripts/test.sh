#!/usr/bin/env bash
# Runs every test, in phases, printing how long each took:
#   tools    build (or reuse from the cache) the programs the tests run for real
#   injector build the static injector for amd64 and arm64, run its C tests, fuzz briefly
#   static   gofmt, go vet, import-direction rules
#   unit     engine and provider tests (go test ./...)
#   acc-*    the provider's acceptance tests under terraform, then under OpenTofu
#   docs     `make generate` must leave docs/ unchanged
#   demo     the README's main-job command, end to end
#   mirror   the provider's filesystem mirror (amd64, arm64), checked by init and plan under
#            terraform and tofu in a network namespace with no network at all
#   system   the in-cluster registry image (its own module's tests) and the signed system bundle
#   cluster  a real single-node Kubernetes with egress denied, the tests that need it, and the
#            offline walkthrough (scripts/walkthrough.sh) under terraform and tofu
# `scripts/test.sh PHASE...` runs only the phases named.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tests fail rather than skip when a tool they need is missing.
export AIRGAP_REQUIRE_TOOLS=1 AIRGAP_REQUIRE_INJECTOR=1
# terraform and tofu warn about the missing CLI config this machine names; give them an empty one.
# No checkpoint (version check) calls: nothing here talks to the outside.
export TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF_ACC_PROVIDER_NAMESPACE=openairgap
# Work files of the demo, mirror and system phases.
demo_dir=$(mktemp -d /tmp/airgap-test-demo.XXXXXX)

phase() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== phase $name"
  "$@"
  echo "=== phase $name took $((SECONDS - start))s"
}

tools_phase() {
  command -v terraform >/dev/null || { echo "terraform is not on PATH: the acceptance tests need it (1.11 ships in the machine image)" >&2; exit 1; }
  terraform version | head -1
  # Debian packages first, one after another (apt holds a lock), then the slow Go builds side
  # by side: the pinned tools, and the Kubernetes binaries and node images of the test cluster.
  sh scripts/deps.sh
  sh injector/deps.sh
  bash test/cluster/deps.sh
  bash scripts/tools.sh build tofu registry cosign crane minio & local tools=$!
  bash test/cluster/build.sh all & local cluster=$!
  # The system bundle's registry image is cached by source hash: building it now warms the cache.
  bash scripts/system-bundle.sh "$demo_dir/system-warm" >"$demo_dir/system-warm.log" 2>&1 & local system=$!
  wait "$tools" && wait "$cluster" && { wait "$system" || { cat "$demo_dir/system-warm.log"; exit 1; }; }
}

injector_phase() {
  make -s -C injector all test
  ls -l injector/bin/injector-linux-amd64 injector/bin/injector-linux-arm64 | awk '{print $5, $9}'
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} bash injector/fuzz/fuzz.sh
}

static_phase() {
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go'))
  (cd images/registry && go vet ./...)
  [ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
  go vet ./...
}

unit_phase() { go test -count=1 ./...; }

acc_phase() {
  local bin=$1; shift
  TF_ACC=1 TF_ACC_TERRAFORM_PATH="$bin" "$@" go test -count=1 -run '^TestAcc' ./internal/provider/
}
acc_terraform() { acc_phase "$(command -v terraform)"; }
acc_tofu() { acc_phase "$(bash scripts/tools.sh path tofu)" env TF_ACC_PROVIDER_HOST=registry.opentofu.org; }

docs_phase() {
  make -s generate >/dev/null
  git diff --exit-code --stat -- docs templates || { echo "docs/ is out of date: run make generate and commit" >&2; exit 1; }
  [ -z "$(git status --porcelain -- docs templates)" ] || { git status --porcelain -- docs templates; echo "make generate added files: commit them" >&2; exit 1; }
}

demo_phase() {
  DEMO_DIR=$demo_dir bash scripts/demo.sh >"$demo_dir.log" 2>&1 || { cat "$demo_dir.log"; exit 1; }
  tail -3 "$demo_dir.log"
}

mirror_phase() {
  [ -f "$demo_dir/quickstart.tar" ] || DEMO_DIR=$demo_dir bash scripts/demo.sh >"$demo_dir.log" 2>&1
  bash scripts/provider-mirror.sh "$demo_dir/mirror"
  bash scripts/mirror-check.sh "$demo_dir/mirror" "$demo_dir/quickstart.tar" "$demo_dir/keys/vendor.pub"
}

system_phase() {
  (cd images/registry && go test -count=1 ./...)
  bash scripts/system-bundle.sh "$demo_dir/system"
}

cluster_phase() {
  trap 'make -s cluster-down' EXIT
  make -s cluster-up
  AIRGAP_REQUIRE_CLUSTER=1 go test -count=1 ./test/cluster/
  # Elsewhere, tests that need the cluster are named TestCluster*; they skip in the unit phase.
  # They use the system bundle the system phase built (or build one, in seconds when cached).
  local sys=$demo_dir/system/airgap-system-${VERSION:-0.1.0}.tar
  [ -f "$sys" ] && export AIRGAP_SYSTEM_BUNDLE=$sys
  AIRGAP_REQUIRE_CLUSTER=1 go test -count=1 -run '^TestCluster' ./internal/...
  # The provider on the cluster, under terraform and then under tofu.
  AIRGAP_REQUIRE_CLUSTER=1 TF_ACC=1 TF_ACC_TERRAFORM_PATH="$(command -v terraform)" \
    go test -count=1 -run '^TestClusterAcc' ./internal/provider/
  AIRGAP_REQUIRE_CLUSTER=1 TF_ACC=1 TF_ACC_TERRAFORM_PATH="$(bash scripts/tools.sh path tofu)" TF_ACC_PROVIDER_HOST=registry.opentofu.org \
    go test -count=1 -run '^TestClusterAcc' ./internal/provider/
  # The whole product offline, from the provider's mirror, under both tools.
  [ -f "$demo_dir/mirror/.terraform.lock.hcl" ] || bash scripts/provider-mirror.sh "$demo_dir/mirror"
  bash scripts/walkthrough.sh "$demo_dir/mirror"
  make -s cluster-down
  trap - EXIT
}

all=(tools injector static unit acc-terraform acc-tofu docs demo mirror system cluster)
phases=("${@:-${all[@]}}")
total=$SECONDS
for p in "${phases[@]}"; do
  case $p in
    tools) phase tools tools_phase ;;
    injector) phase injector injector_phase ;;
    static) phase static static_phase ;;
    unit) phase unit unit_phase ;;
    acc-terraform) phase acc-terraform acc_terraform ;;
    acc-tofu) phase acc-tofu acc_tofu ;;
    docs) phase docs docs_phase ;;
    demo) phase demo demo_phase ;;
    mirror) phase mirror mirror_phase ;;
    system) phase system system_phase ;;
    cluster) phase cluster cluster_phase ;;
    *) echo "unknown phase $p (phases: ${all[*]})" >&2; exit 2 ;;
  esac
done
echo "=== all phases passed in $((SECONDS - total))s"
