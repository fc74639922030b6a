#!/usr/bin/env bash
# The main job, end to end, on an embedded default: start a CNCF Distribution registry on
# 127.0.0.1 holding generated sample images, build a signed bundle from it with terraform (the
# connected side), then verify it as the enclave would and print what the plan shows an approver.
# Everything runs on this machine; nothing is fetched from outside it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
terraform=${TERRAFORM:-terraform}
work=${DEMO_DIR:-$(mktemp -d /tmp/airgap-demo.XXXXXX)}
step() { printf '\n==> %s\n' "$*"; }

command -v "$terraform" >/dev/null || { echo "demo: terraform is not installed (set TERRAFORM=/path/to/terraform or tofu)" >&2; exit 1; }

step "building the provider and the tools it is demonstrated with"
mkdir -p "$work/plugins"
(cd "$here" && go build -o "$work/plugins/terraform-provider-airgap" . && go build -o "$work/airgap-dev" ./cmd/airgap-dev)
registry_bin=$("$here/scripts/tools.sh" path registry)

step "starting a Distribution registry on 127.0.0.1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: 127.0.0.1:$port}
EOF
"$registry_bin" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
host=127.0.0.1:$port
"$work/airgap-dev" samples -registry "$host"

step "generating the vendor's signing key (cosign format)"
export COSIGN_PASSWORD=demo-password
"$work/airgap-dev" keygen -out "$work/keys" -name vendor

# The provider comes from the local build: the same dev_overrides mechanism an operator uses for
# an unreleased provider. Checkpoint (version check) calls are disabled: nothing phones home.
cat >"$work/terraformrc" <<EOF
provider_installation {
  dev_overrides { "registry.terraform.io/openairgap/airgap" = "$work/plugins" }
  direct { exclude = ["registry.terraform.io/openairgap/airgap"] }
}
EOF
export TF_CLI_CONFIG_FILE=$work/terraformrc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

cp -r "$here/examples/quickstart" "$work/quickstart"
cat >"$work/quickstart/connected/tool.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: tool}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: tool, image: $host/samples/tool:1.0}]
EOF

step "connected side: terraform apply builds and signs the bundle"
"$terraform" -chdir="$work/quickstart/connected" apply -auto-approve -no-color \
  -var "registry=$host" -var "signing_key=$work/keys/vendor.key" -var "output=$work/quickstart.tar" \
  2> >(grep -v 'Provider development overrides are in effect' >&2) | sed -n '/^Apply complete/,$p'

step "enclave side: terraform plan verifies the bundle (signature first, then every byte) and shows the evidence"
"$terraform" -chdir="$work/quickstart/enclave" plan -no-color \
  -var "bundle=$work/quickstart.tar" -var "vendor_public_key=$work/keys/vendor.pub" \
  2> >(grep -v 'Provider development overrides are in effect' >&2) | sed -n '/^Changes to Outputs/,$p'

step "a tampered copy is rejected before anything is trusted"
cp "$work/quickstart.tar" "$work/tampered.tar"
size=$(stat -c %s "$work/tampered.tar")
printf '\x01' | dd of="$work/tampered.tar" bs=1 seek=$((size - 4096)) conv=notrunc status=none
if "$terraform" -chdir="$work/quickstart/enclave" plan -no-color \
  -var "bundle=$work/tampered.tar" -var "vendor_public_key=$work/keys/vendor.pub" >"$work/tampered.log" 2>&1; then
  echo "demo: the tampered bundle was accepted" >&2; exit 1
fi
grep -A9 'Error: Bundle rejected' "$work/tampered.log" | sed 's/^/    /'

step "done: the bundle is $work/quickstart.tar"
