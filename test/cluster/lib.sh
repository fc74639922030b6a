# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for the test-cluster scripts. Sourced, never run. (SC2034: the
# settings are used by the scripts that source this file.)
# Every setting can be overridden from the environment; README.md lists them.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

# Built binaries and images live outside the checkout, keyed by version, so that a fresh clone on
# the same machine reuses them (scripts/tools.sh uses the same root).
cache=${AIRGAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-airgap}
k8s_cache=$cache/k8s-$KUBERNETES_VERSION
bin_dir=$k8s_cache/bin
# The running cluster's state: certificates, configs, logs, PID files, etcd and containerd data.
cluster_dir=${AIRGAP_CLUSTER_DIR:-$cache/cluster}

# Address ranges that exist only inside this machine. The pod range is the CNI bridge's subnet.
pod_cidr=${AIRGAP_CLUSTER_POD_CIDR:-10.244.0.0/24}
service_cidr=${AIRGAP_CLUSTER_SERVICE_CIDR:-10.96.0.0/16}
bridge=${AIRGAP_CLUSTER_BRIDGE:-airgap0}
cni_network=airgap-test-cluster # the name in config/10-airgap.conflist
apiserver_port=${AIRGAP_CLUSTER_APISERVER_PORT:-6443}
# Node-local registries containerd may pull from over plain HTTP (127.0.0.1:<port>): 31998 is
# the NodePort the provider's injector serves on, 31999 the registry it bootstraps; 29999 (outside
# the NodePort range) is where the smoke test serves a registry from the host to prove the pull path.
http_registry_ports=${AIRGAP_CLUSTER_HTTP_REGISTRY_PORTS:-31998 31999 29999}

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it starts containerd, kubelet and edits iptables)"; }

# The node's address: the one on the interface that carries the default route, else the first
# global IPv4 address, else loopback. AIRGAP_CLUSTER_NODE_IP overrides. Only routing tables are
# read; nothing is sent.
detect_node_ip() {
  if [ -n "${AIRGAP_CLUSTER_NODE_IP:-}" ]; then echo "$AIRGAP_CLUSTER_NODE_IP"; return; fi
  local dev ip
  dev=$(ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i+1); exit }}')
  if [ -n "$dev" ]; then
    ip=$(ip -4 -o addr show dev "$dev" scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}')
  fi
  if [ -z "${ip:-}" ]; then
    ip=$(ip -4 -o addr show scope global 2>/dev/null | awk -v br="$bridge" '$2 != br {sub(/\/.*/, "", $4); print $4; exit}')
  fi
  echo "${ip:-127.0.0.1}"
}

# The node name: lower-cased short host name unless AIRGAP_CLUSTER_NODE_NAME says otherwise.
detect_node_name() {
  local n=${AIRGAP_CLUSTER_NODE_NAME:-$(hostname -s 2>/dev/null || hostname)}
  echo "$n" | tr '[:upper:]' '[:lower:]'
}

# Seconds since $1 (a `date +%s.%N` stamp), one decimal.
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

# The components, in start order. down.sh stops them in reverse order.
components=(etcd kube-apiserver containerd kube-controller-manager kube-scheduler kubelet kube-proxy)
run_dir=$cluster_dir/run
logs_dir=$cluster_dir/logs
containerd_sock=$cluster_dir/containerd/containerd.sock

pid_of() { cat "$run_dir/$1.pid" 2>/dev/null || true; }

# running PID: the process exists and has not exited (an exited one stays a zombie until PID 1,
# its parent once up.sh has exited, reaps it).
running() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# alive NAME: its PID file names a live process running NAME's binary (not a reused PID).
alive() {
  local pid exe
  pid=$(pid_of "$1")
  running "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$(basename "${exe% (deleted)}")" = "$1" ]
}

# ctr against the private containerd, in the namespace the CRI plugin uses.
ctr_k8s() { ctr --address "$containerd_sock" --namespace k8s.io "$@"; }

# kubectl (built from the same pinned module) with the admin kubeconfig.
kctl() { "$bin_dir/kubectl" --kubeconfig "$cluster_dir/kubeconfig" --request-timeout=10s "$@"; }

# One up or down at a time per cluster directory (the lock file sits beside it, as down may delete
# the directory). A nested call (up.sh running down.sh) inherits the lock.
lock_cluster() {
  [ "${AIRGAP_CLUSTER_LOCKED:-}" = 1 ] && return 0
  mkdir -p "$(dirname "$cluster_dir")"
  exec {cluster_lock}>"$cluster_dir.lock"
  flock "$cluster_lock"
  export AIRGAP_CLUSTER_LOCKED=1
}
