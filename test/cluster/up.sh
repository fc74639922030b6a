#!/usr/bin/env bash
# Starts the single-node test cluster: etcd, kube-apiserver, a private containerd, the
# controller-manager, the scheduler, the kubelet and kube-proxy, each by PID file, with the egress
# rules installed before any of them. Idempotent: when the cluster is already up it says so and
# does nothing; when it is half up (something died) it is taken down first.
#
# Prints the time of each step and the total to node Ready. See README.md for the settings.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$(date +%s.%N)
step() { log "[$(since "$t0")s] $*"; }

# A plain PATH and nothing else from the caller's environment: no proxy settings, no KUBECONFIG.
clean_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)

# start NAME CMD...: runs CMD in its own session (a Ctrl-C in the calling make does not reach
# it), logs to logs/NAME.log, records its PID.
start() {
  local name=$1; shift
  # The cluster lock's descriptor is closed for it: a long-lived holder would block the next down.
  setsid "${clean_env[@]}" "$@" >"$logs_dir/$name.log" 2>&1 </dev/null {cluster_lock}>&- &
  echo $! >"$run_dir/$name.pid"
}

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds; fails early if NAME died, and shows
# the end of its log on failure.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$(($(date +%s) + secs))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then tail -25 "$logs_dir/$name.log" >&2; die "$name exited; its log is $logs_dir/$name.log"; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -25 "$logs_dir/$name.log" >&2; die "$name not ready after ${secs}s; its log is $logs_dir/$name.log"
    fi
    sleep 0.2
  done
}

# retry N CMD...: runs CMD until it succeeds, at most N times, half a second apart (an API server
# that just became ready may still refuse a request or two while it settles).
retry() {
  local n=$1 i; shift
  for ((i = 1; ; i++)); do
    "$@" && return 0
    [ "$i" -lt "$n" ] || return 1
    sleep 0.5
  done
}

# Deletes the node's Node object if there is one (a plain API call: kubectl would need discovery).
delete_node() {
  local p=$cluster_dir/pki code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE --cacert "$p/ca.crt" --cert "$p/admin.crt" --key "$p/admin.key" \
    "https://127.0.0.1:$apiserver_port/api/v1/nodes/$node_name")
  [ "$code" = 200 ] || [ "$code" = 404 ]
}

# render TEMPLATE OUT: substitutes the @NAME@ placeholders of config/TEMPLATE.
render() {
  sed -e "s|@CLUSTER_DIR@|$cluster_dir|g" -e "s|@NODE_NAME@|$node_name|g" -e "s|@NODE_IP@|$node_ip|g" \
    -e "s|@POD_CIDR@|$pod_cidr|g" -e "s|@POD_GATEWAY@|$pod_gateway|g" -e "s|@BRIDGE@|$bridge|g" \
    -e "s|@PAUSE_IMAGE@|$PAUSE_IMAGE|g" -e "s|@CNI_BIN_DIR@|$cni_bin_dir|g" -e "s|@PORT@|${port:-}|g" \
    "$here/config/$1" >"$2"
}

# Already up, half up, or down?
check_state() {
  local c up=() down=()
  for c in "${components[@]}"; do if alive "$c"; then up+=("$c"); else down+=("$c"); fi; done
  if [ ${#down[@]} -eq 0 ]; then
    log "already up (${components[*]} running; cluster directory $cluster_dir): nothing to do"
    exit 0
  fi
  if [ ${#up[@]} -gt 0 ] || [ -f "$run_dir/sysctl.saved" ]; then
    log "half up (not running: ${down[*]}): taking it down first"
    AIRGAP_CLUSTER_LOCKED=1 "$here/down.sh"
  fi
}

prepare_dirs() {
  mkdir -p "$cluster_dir" "$run_dir" "$logs_dir" "$cluster_dir"/{etcd,containerd/certs.d,cni/net.d,cni/ipam,kubelet/root,kubelet/pki,kubelet/volume-plugins,pod-logs,volumes}
  chmod 700 "$cluster_dir" "$cluster_dir/etcd"
  : >"$cluster_dir/kubelet/resolv.conf"
}

# Everything a test needs to know about the running cluster, read by cluster.go.
write_cluster_env() {
  cat >"$cluster_dir/cluster.env" <<EOF
# Written by test/cluster/up.sh; read by test/cluster/cluster.go.
KUBERNETES_VERSION=$KUBERNETES_VERSION
KUBECONFIG=$cluster_dir/kubeconfig
NODE_NAME=$node_name
NODE_IP=$node_ip
POD_CIDR=$pod_cidr
SERVICE_CIDR=$service_cidr
BRIDGE=$bridge
BIN_DIR=$bin_dir
CONTAINERD_SOCKET=$containerd_sock
CONTAINERD_NAMESPACE=k8s.io
PAUSE_IMAGE=$PAUSE_IMAGE
PRELOADED_IMAGE=$preload_image
TOOLBOX_IMAGE=$TOOLBOX_IMAGE
TOOLBOX_ARCHIVE=$image_dir/toolbox.tar
TOOLBOX_BINARY=$image_dir/toolbox
HTTP_REGISTRY_PORTS=$http_registry_ports
HOST_EGRESS=${AIRGAP_CLUSTER_HOST_EGRESS:-count}
ENCLAVE_GID=${AIRGAP_CLUSTER_ENCLAVE_GID:-47110}
EOF
}

write_configs() {
  render containerd.toml "$cluster_dir/containerd/config.toml"
  render 10-airgap.conflist "$cluster_dir/cni/net.d/10-airgap.conflist"
  render kubelet.yaml "$cluster_dir/kubelet/config.yaml"
  render kube-proxy.yaml "$cluster_dir/kube-proxy.yaml"
  rm -rf "$cluster_dir/containerd/certs.d"
  for port in $http_registry_ports; do
    mkdir -p "$cluster_dir/containerd/certs.d/127.0.0.1:$port"
    render hosts.toml "$cluster_dir/containerd/certs.d/127.0.0.1:$port/hosts.toml"
  done
}

# Forwarding for pods and bridged traffic through iptables (kube-proxy needs both). The previous
# values are saved and down.sh restores them.
set_sysctls() {
  local k
  if [ ! -f "$run_dir/sysctl.saved" ]; then
    for k in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet; do
      echo "$k=$(sysctl -n "$k")"
    done >"$run_dir/sysctl.saved"
  fi
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
}

# The bridge exists before any pod, with the pod range's gateway address, and the service range is
# routed to it too: from the first moment, pod and service addresses are routed into the bridge,
# never out of the machine, even before kube-proxy has programmed a ClusterIP (the CNI bridge
# plugin reuses the bridge).
make_bridge() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then ip link add "$bridge" type bridge; fi
  ip addr replace "$pod_gateway/${pod_cidr#*/}" dev "$bridge"
  ip link set "$bridge" up
  ip route replace "$service_cidr" dev "$bridge" src "$pod_gateway"
}

# The hostPath provisioner creates volumes under /tmp/hostpath_pv (hard-coded): point that at the
# cluster directory, so the volumes live and die with the cluster.
link_volumes() {
  local link=/tmp/hostpath_pv
  if [ -L "$link" ]; then ln -sfn "$cluster_dir/volumes" "$link"
  elif [ -e "$link" ]; then log "warning: $link exists and is not ours; PVC volumes will be created in it"
  else ln -s "$cluster_dir/volumes" "$link"; fi
}

start_etcd() {
  start etcd etcd --name airgap --data-dir "$cluster_dir/etcd" --logger zap --log-outputs stderr \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster airgap=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --quota-backend-bytes 2147483648 --unsafe-no-fsync
  wait_for etcd 60 curl -sf http://127.0.0.1:2379/health
  step "etcd up"
}

start_apiserver() {
  local p=$cluster_dir/pki
  start kube-apiserver "$bin_dir/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=0.0.0.0 --secure-port="$apiserver_port" --advertise-address="$node_ip" \
    --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --client-ca-file="$p/ca.crt" \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range="$service_cidr" --service-node-port-range=30000-32767 \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$p/ca.crt" --kubelet-preferred-address-types=InternalIP,Hostname \
    --allow-privileged=true --profiling=false
  wait_for kube-apiserver 120 curl -sf --cacert "$p/ca.crt" --cert "$p/admin.crt" --key "$p/admin.key" \
    "https://127.0.0.1:$apiserver_port/readyz"
  step "kube-apiserver ready"
}

# containerd starts with no image; the sandbox image (and the pre-load, if asked for) are imported
# from the archives build.sh made. Nothing is pulled.
start_containerd() {
  start containerd containerd --config "$cluster_dir/containerd/config.toml"
  wait_for containerd 60 ctr_k8s version
  ctr_k8s images import "$image_dir/pause.tar" >/dev/null
  if [ -n "$preload_image" ]; then
    ctr_k8s images import "$image_dir/toolbox.tar" >/dev/null
    if [ "$preload_image" != "$TOOLBOX_IMAGE" ]; then
      ctr_k8s images tag --force "$TOOLBOX_IMAGE" "$preload_image" >/dev/null
      ctr_k8s images rm "$TOOLBOX_IMAGE" >/dev/null
    fi
  fi
  step "containerd up; images on the node: $(ctr_k8s images ls -q | grep -v '^sha256:' | tr '\n' ' ')"
}

start_control_plane() {
  local p=$cluster_dir/pki
  start kube-controller-manager "$bin_dir/kube-controller-manager" \
    --kubeconfig="$p/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$p/controller-manager.kubeconfig" --authorization-kubeconfig="$p/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
    --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
    --use-service-account-credentials=true --service-cluster-ip-range="$service_cidr" \
    --enable-hostpath-provisioner=true --flex-volume-plugin-dir="$cluster_dir/kubelet/volume-plugins" \
    --leader-elect=false
  start kube-scheduler "$bin_dir/kube-scheduler" --kubeconfig="$p/scheduler.kubeconfig" \
    --authentication-kubeconfig="$p/scheduler.kubeconfig" --authorization-kubeconfig="$p/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false
}

start_node() {
  start kubelet "$bin_dir/kubelet" --config="$cluster_dir/kubelet/config.yaml" \
    --kubeconfig="$cluster_dir/pki/kubelet.kubeconfig" --root-dir="$cluster_dir/kubelet/root" \
    --cert-dir="$cluster_dir/kubelet/pki" --hostname-override="$node_name" --node-ip="$node_ip" --v=2
  start kube-proxy "$bin_dir/kube-proxy" --config="$cluster_dir/kube-proxy.yaml" --v=2
}

kube_proxy_synced() {
  iptables -w 10 -S FORWARD | grep -q -- '-j KUBE-FORWARD' &&
    iptables -w 10 -t nat -S KUBE-SERVICES | grep -q 'default/kubernetes:https'
}

# Ready, as reported by this kubelet: a Node object kept in etcd from the previous run still says
# Ready until the controller-manager notices, so the heartbeat must be from this start.
node_ready() {
  local status heartbeat
  read -r status heartbeat < <(kctl get node "$node_name" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
  [ "$status" = True ] && [[ ! "$heartbeat" < "$started_utc" ]]
}

main() {
  need_root
  "$here/deps.sh"
  local start_build; start_build=$(date +%s.%N)
  if [ -x "$bin_dir/kubelet" ]; then step "Kubernetes $KUBERNETES_VERSION binaries cached in $bin_dir"; fi
  "$here/build.sh" all
  image_dir=$("$here/build.sh" imagedir)
  step "binaries and images ready ($(since "$start_build")s)"

  lock_cluster
  check_state
  t_start=$(date +%s.%N)
  started_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

  node_ip=$(detect_node_ip)
  node_name=$(detect_node_name)
  pod_gateway=$(awk -F. -v n="${pod_cidr%/*}" 'BEGIN { split(n, a, "."); printf "%d.%d.%d.%d", a[1], a[2], a[3], a[4] + 1 }')
  cni_bin_dir=${AIRGAP_CLUSTER_CNI_BIN_DIR:-/usr/lib/cni}
  case "${AIRGAP_CLUSTER_PRELOAD:-}" in
    "" | 0 | false | no) preload_image= ;;
    1 | true | yes) preload_image=$TOOLBOX_IMAGE ;;
    *) preload_image=$AIRGAP_CLUSTER_PRELOAD ;;
  esac

  prepare_dirs
  "$here/pki.sh" "$node_name" "$node_ip"
  write_configs
  write_cluster_env
  step "node $node_name, address $node_ip, pods $pod_cidr on $bridge, services $service_cidr; state in $cluster_dir"

  # Egress denied before anything can send: rules, forwarding, bridge and routes come first.
  "$here/egress.sh" install
  set_sysctls
  make_bridge
  link_volumes
  step "egress rules, bridge and routes in place"

  start_etcd
  start_apiserver
  # A Node object kept in etcd from the previous run (AIRGAP_CLUSTER_KEEP=1) would make the kubelet
  # update it at its slower pace; register afresh (pods still bound to it are collected by the pod GC).
  retry 20 delete_node
  start_containerd
  start_control_plane
  start_node
  wait_for kubelet 120 node_ready
  step "node $node_name Ready"
  local ready_at; ready_at=$(since "$t_start")

  # kube-proxy prepends its jumps to FORWARD and OUTPUT (once: it only re-adds them when missing):
  # after its first sync, put ours first again, so that none of its ACCEPT rules comes before ours.
  wait_for kube-proxy 60 kube_proxy_synced
  "$here/egress.sh" pin-first
  retry 20 kctl apply -f "$here/config/storage.yaml" >/dev/null
  # Pods cannot be created in a namespace before its default service account exists.
  wait_for kube-controller-manager 60 kctl get serviceaccount default -n default
  wait_for kube-scheduler 30 curl -sfk https://127.0.0.1:10259/healthz
  step "kube-proxy synced, storage class and default service account in place"

  printf 'ready_seconds=%s\nup_seconds=%s\nat=%s\n' "$ready_at" "$(since "$t_start")" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$cluster_dir/timings"
  log "up: node Ready ${ready_at}s after start, all done in $(since "$t_start")s (total with checks $(since "$t0")s)"
  log "export KUBECONFIG=$cluster_dir/kubeconfig   # kubectl: $bin_dir/kubectl"
}

main "$@"
