#!/usr/bin/env bash
# The whole product, offline, as an operator runs it (examples/enclave), on the project's test
# cluster (make cluster-up): a real node holding only its pause image, egress denied and counted.
#
# Connected side: a Distribution registry on 127.0.0.1 holding the shop's images (the cluster's
# toolbox image under three names), the vendor's key, and `terraform apply` of
# examples/enclave/connected, with the provider installed from the filesystem mirror, building the
# signed application bundle; the system bundle (scripts/system-bundle.sh).
#
# Enclave side, for each tool named (default: terraform tofu), in the enclave group whose packets
# to anywhere but this machine are rejected and counted: `init` from the mirror and its lock file
# (no registry lookup, no checkpoint), `apply` of examples/enclave (injection, registry, mirror,
# manifests, chart, receipts), a second `plan` that must be empty, the shop's pods checked to run
# images pulled from 127.0.0.1:31999, then `destroy`. The egress counters (pods, host, enclave)
# must not move.
#
# Usage: scripts/walkthrough.sh MIRROR [TOOL...]   (MIRROR from scripts/provider-mirror.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mirror=$(realpath "$1"); shift
[ $# -gt 0 ] && tools=("$@") || tools=(terraform tofu)
cache=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}
cluster_dir=${AIRGAP_CLUSTER_DIR:-$cache/cluster}
work=$(mktemp -d /tmp/airgap-walkthrough.XXXXXX)
start=$SECONDS
step() { printf '\n==> [%ss] %s\n' "$((SECONDS - start))" "$*"; }
fail() { echo "walkthrough: $*" >&2; exit 1; }

[ -f "$cluster_dir/cluster.env" ] || fail "no test cluster in $cluster_dir: run make cluster-up"
env_of() { sed -n "s/^$1=//p" "$cluster_dir/cluster.env"; }
KUBECONFIG=$(env_of KUBECONFIG) BIN_DIR=$(env_of BIN_DIR) TOOLBOX_ARCHIVE=$(env_of TOOLBOX_ARCHIVE)
kubectl() { "$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG" "$@"; }
enclave_gid=$(env_of ENCLAVE_GID)

# Packets counted by a chain's final rule, IPv4 and IPv6.
counted() {
  local total=0 n
  for cmd in iptables ip6tables; do
    n=$("$cmd" -w 10 -t filter -nvxL "$1" 2>/dev/null | awk 'NR > 2 && $3 != "LOG" { s += $1 } END { print s + 0 }') || n=0
    total=$((total + n))
  done
  echo "$total"
}
counters() { echo "pods=$(counted AIRGAP-EGRESS) host=$(counted AIRGAP-HOST) enclave=$(counted AIRGAP-ENCLAVE)"; }

registry_pid=
destroy_on_exit=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  # A failed run must not leave the cluster behind for the next test.
  if [ -n "$destroy_on_exit" ]; then
    echo "walkthrough: failed; destroying what the apply created" >&2
    eval "$destroy_on_exit" >"$work/cleanup.log" 2>&1 || { tail -20 "$work/cleanup.log" >&2; kubectl delete namespace shop airgap-system --ignore-not-found --wait >/dev/null 2>&1 || true; }
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step "connected side: the shop's images in a Distribution registry on 127.0.0.1"
registry_bin=$("$here/scripts/tools.sh" path registry)
crane=$("$here/scripts/tools.sh" path crane)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
source_registry=127.0.0.1:$port
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: $source_registry}
EOF
"$registry_bin" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -sf "http://$source_registry/v2/" >/dev/null && break; sleep 0.1; done
for c in web worker tool; do
  "$crane" push --insecure "$TOOLBOX_ARCHIVE" "$source_registry/shop/$c:1.0" >/dev/null 2>&1 || fail "crane push shop/$c"
done
cat >"$work/tool.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: tool}
spec:
  selector: {matchLabels: {app: tool}}
  template:
    metadata: {labels: {app: tool}}
    spec:
      terminationGracePeriodSeconds: 1
      imagePullSecrets: [{name: airgap-registry-pull}]
      containers: [{name: tool, image: "$source_registry/shop/tool:1.0"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-settings}
data: {greeting: hello from the enclave}
EOF

step "connected side: keys, the application bundle (terraform, provider from the mirror), the system bundle"
export COSIGN_PASSWORD=walkthrough
(cd "$here" && go run ./cmd/airgap-dev keygen -out "$work/keys" -name vendor >/dev/null && go run ./cmd/airgap-dev keygen -out "$work/keys" -name operator >/dev/null)
cat >"$work/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/openairgap/airgap"]
  }
  direct { exclude = ["registry.terraform.io/openairgap/airgap"] }
}
EOF
export TF_CLI_CONFIG_FILE=$work/cli.tfrc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
cp -r "$here/examples/enclave" "$work/example"
cp "$mirror/.terraform.lock.hcl" "$work/example/connected/"
terraform -chdir="$work/example/connected" init -input=false -no-color >"$work/connected-init.log" 2>&1 || { cat "$work/connected-init.log"; exit 1; }
terraform -chdir="$work/example/connected" apply -input=false -no-color -auto-approve \
  -var "registry=$source_registry" -var "manifests=[\"$work/tool.yaml\"]" \
  -var "signing_key=$work/keys/vendor.key" -var "output=$work/shop.tar" >"$work/connected.log" 2>&1 || { cat "$work/connected.log"; exit 1; }
grep -A4 '^Outputs' "$work/connected.log" || true
kill "$registry_pid"; registry_pid= # the enclave has no connected registry
system_bundle=$work/system/airgap-system-${VERSION:-0.1.0}.tar
if [ -n "${AIRGAP_SYSTEM_BUNDLE:-}" ]; then system_bundle=$AIRGAP_SYSTEM_BUNDLE; else bash "$here/scripts/system-bundle.sh" "$work/system" >"$work/system.log" 2>&1 || { cat "$work/system.log"; exit 1; }; fi
release_pub=${AIRGAP_SYSTEM_PUBKEY:-$cache/dev-release-key/airgap-release.pub}

for tool in "${tools[@]}"; do
  case $tool in
    terraform) bin=$(command -v terraform) ;;
    tofu) bin=$("$here/scripts/tools.sh" path tofu) ;;
    *) fail "unknown tool $tool" ;;
  esac
  dir=$work/enclave-$tool
  mkdir -p "$dir"
  cp "$work/example/main.tf" "$mirror/.terraform.lock.hcl" "$dir/"
  chmod -R a+rX "$work"
  vars=(-var "kubeconfig=$KUBECONFIG" -var "system_bundle=$system_bundle" -var "bundle=$work/shop.tar"
    -var "release_public_key=$release_pub" -var "vendor_public_key=$work/keys/vendor.pub"
    -var "operator_key=$work/keys/operator.key" -var "operator_key_password=$COSIGN_PASSWORD"
    -var "operator=walkthrough@$tool" -var "source_registry=$source_registry" -var "fix_permissions=true")
  # The enclave: this group's packets to anywhere but this machine are rejected and counted.
  run() { setpriv --regid "$enclave_gid" --clear-groups -- env TF_CLI_CONFIG_FILE="$work/cli.tfrc" "$bin" -chdir="$dir" "$@"; }
  before=$(counters)
  step "enclave ($tool): init from the mirror; egress counters $before"
  run init -input=false -no-color >"$dir/init.log" 2>&1 || { cat "$dir/init.log"; exit 1; }
  destroy_on_exit="run destroy -input=false -no-color -auto-approve ${vars[*]@Q}"
  step "enclave ($tool): apply"
  t0=$SECONDS
  run apply -input=false -no-color -auto-approve "${vars[@]}" >"$dir/apply.log" 2>&1 || { cat "$dir/apply.log"; exit 1; }
  echo "apply took $((SECONDS - t0))s"
  sed -n '/^Outputs:/,$p' "$dir/apply.log" | head -40
  step "enclave ($tool): the shop runs from 127.0.0.1:31999"
  kubectl -n shop get pods -o custom-columns='POD:.metadata.name,PHASE:.status.phase,IMAGE:.spec.containers[0].image'
  bad=$(kubectl -n shop get pods -o jsonpath='{range .items[*]}{.status.phase} {.spec.containers[0].image}{"\n"}{end}' | grep -v '^Running 127.0.0.1:31999/shop/[a-z]*@sha256:' || true)
  [ -z "$bad" ] || fail "pods not running from the in-cluster registry: $bad"
  [ "$(kubectl -n shop get pods --no-headers | wc -l)" -eq 3 ] || fail "want 3 pods in namespace shop"
  left=$(kubectl get configmaps -A -l airgap.openairgap.dev/injection --no-headers 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] || fail "the injector's ConfigMaps are still there"
  step "enclave ($tool): a second plan is empty"
  rc=0; run plan -input=false -no-color -detailed-exitcode "${vars[@]}" >"$dir/plan.log" 2>&1 || rc=$?
  [ $rc -eq 0 ] || { cat "$dir/plan.log"; fail "the second plan is not empty (exit $rc)"; }
  echo "no changes"
  step "enclave ($tool): receipts"
  kubectl -n airgap-system get configmaps -l airgap.openairgap.dev/receipt-stream --no-headers | awk '{print $1}'
  step "enclave ($tool): destroy"
  run destroy -input=false -no-color -auto-approve "${vars[@]}" >"$dir/destroy.log" 2>&1 || { cat "$dir/destroy.log"; exit 1; }
  destroy_on_exit=
  [ "$(kubectl -n shop get pods --no-headers 2>/dev/null | wc -l)" -eq 0 ] || fail "pods left in shop after destroy"
  after=$(counters)
  [ "$before" = "$after" ] || fail "egress counters moved: $before -> $after"
  echo "egress counters unchanged: $after"
  # The receipts stay, as an audit trail; the next run starts from a clean stream.
  kubectl -n airgap-system delete configmaps -l airgap.openairgap.dev/receipt-stream --wait >/dev/null
  kubectl delete namespace shop airgap-system --ignore-not-found --wait >/dev/null
done
step "walkthrough passed for ${tools[*]}"
