#!/usr/bin/env bash
# Stops the test cluster and removes what it left on the machine: its processes (by PID file, in
# reverse start order: SIGTERM, wait, SIGKILL), the pods' containers and network namespaces, the
# mounts under the cluster directory, the bridge and its routes, the iptables chains of the harness,
# kube-proxy, the kubelet and the CNI plugins, the kubepods cgroups, and the sysctls it changed.
# Then deletes the cluster's state (etcd data, images, volumes, certificates) but keeps its logs;
# AIRGAP_CLUSTER_KEEP=1 keeps everything, AIRGAP_CLUSTER_WIPE=1 deletes the whole cluster directory.
# Harmless when the cluster is already down. Exits non-zero if anything is left behind, and says
# what (and then keeps the directory).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$(date +%s.%N)
# AIRGAP_CLUSTER_VERBOSE=1 prints the time of each step.
step() { if [ "${AIRGAP_CLUSTER_VERBOSE:-}" = 1 ]; then log "[$(since "$t0")s] $*"; fi; }

# stop NAME [SECONDS]: SIGTERM, wait, then SIGKILL; only the PID recorded for NAME, and only if
# it still runs NAME's binary.
stop() {
  local name=$1 secs=${2:-15} pid i
  if ! alive "$name"; then rm -f "$run_dir/$name.pid"; return 0; fi
  pid=$(pid_of "$name")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then log "$name ($pid) ignored SIGTERM for ${secs}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < 50; i++)); do running "$pid" || break; sleep 0.1; done
  rm -f "$run_dir/$name.pid"
}

# While the API and the kubelet still run, delete every workload and pod, so that the kubelet
# tears pods down properly (volumes unmounted, CNI DEL, network namespaces removed).
drain() {
  alive kube-apiserver && alive kubelet && alive containerd || return 0
  kctl delete deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs --all -A --wait=false >/dev/null 2>&1 || true
  kctl delete pods --all -A --grace-period=1 --timeout=60s >/dev/null 2>&1 ||
    log "warning: pods not all gone after 60s; removing their containers directly"
}

# The pods' network namespaces are bind mounts under /run/netns that containerd made: collect the
# ones our containerd's sandboxes use, so that they can be removed even after a crash.
our_netns() {
  [ -S "$containerd_sock" ] && alive containerd || return 0
  local id
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s containers info "$id" 2>/dev/null | grep -o '"/[^"]*/netns/[^"]*"' | tr -d '"' || true
  done | sort -u
}

# Kills and deletes every container our containerd still has (CRI namespace k8s.io).
remove_containers() {
  alive containerd || return 0
  local id
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  sleep 0.5
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks delete -f "$id" >/dev/null 2>&1 || true; done
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers delete "$id" >/dev/null 2>&1 || true; done
}

# containerd-shim processes started by our containerd (their command line names our socket):
# they outlive containerd by design.
our_shims() {
  local p
  for p in $(pgrep -f containerd-shim 2>/dev/null || true); do
    running "$p" || continue
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$containerd_sock"; then echo "$p"; fi
  done
}

stop_shims() {
  local p
  local shims; shims=$(our_shims)
  [ -n "$shims" ] || return 0
  for p in $shims; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $(our_shims); do kill -KILL "$p" 2>/dev/null || true; done
}

# Chains of kube-proxy (KUBE-*), the kubelet (KUBE-*), the CNI plugins (CNI-*) and ours (AIRGAP-*),
# in every table, IPv4 and IPv6: first the rules that jump to them, then the chains.
remove_chains() {
  "$bin_dir/kube-proxy" --cleanup >/dev/null 2>&1 || true
  "$here/egress.sh" remove
  local cmd table rule chain
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      "$cmd" -w 10 -t "$table" -S >/dev/null 2>&1 || continue
      { "$cmd" -w 10 -t "$table" -S | grep -E -- '-j (KUBE|CNI|AIRGAP)-' | grep -vE '^-A (KUBE|CNI|AIRGAP)-' || true; } |
        while read -r rule; do
          eval "$cmd -w 10 -t $table -D ${rule#-A }" || true
        done
      for chain in $("$cmd" -w 10 -t "$table" -S | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI|AIRGAP)-/ { print $2 }'); do
        "$cmd" -w 10 -t "$table" -F "$chain" || true
      done
      for chain in $("$cmd" -w 10 -t "$table" -S | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI|AIRGAP)-/ { print $2 }'); do
        "$cmd" -w 10 -t "$table" -X "$chain" || true
      done
    done
  done
}

# Mounts under the cluster directory (deepest first), and our pods' network namespaces.
remove_mounts() {
  local m ns
  for ns in "$@"; do
    if grep -qF " $ns " /proc/mounts; then umount "$ns" 2>/dev/null || umount -l "$ns" || true; fi
    rm -f "$ns"
  done
  for m in $(awk -v d="$cluster_dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

# cgroup v1: every hierarchy has a kubepods tree (cgroupfs driver); cgroup v2: one. Remove the
# directories deepest first; a directory that still holds a process stays and is reported.
remove_cgroups() {
  local root
  for root in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -d "$root/kubepods" ] || [ -d "$root/kubepods.slice" ] || continue
    find "$root/kubepods" "$root/kubepods.slice" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

restore_sysctls() {
  [ -f "$run_dir/sysctl.saved" ] || return 0
  local kv
  while read -r kv; do sysctl -qw "$kv" 2>/dev/null || true; done <"$run_dir/sysctl.saved"
  rm -f "$run_dir/sysctl.saved"
}

remove_network() {
  ip link del "$bridge" 2>/dev/null || true
  # Left only if the bridge is gone already and someone re-added the route.
  ip route del "$service_cidr" dev "$bridge" 2>/dev/null || true
}

# Our shims' sockets live in /run/containerd/s (fixed in containerd 1.6); remove the directories if
# they are empty (a system containerd's would not be).
remove_run_dirs() {
  rmdir /run/containerd/s /run/containerd 2>/dev/null || true
}

remove_volume_link() {
  if [ -L /tmp/hostpath_pv ] && [ "$(readlink /tmp/hostpath_pv)" = "$cluster_dir/volumes" ]; then rm -f /tmp/hostpath_pv; fi
}

# Files the kubelet and the CNI library keep at fixed paths outside the cluster directory:
# a symlink per container in /var/log/containers, the device-plugin socket in
# /var/lib/kubelet/device-plugins, and a cached result per pod network attachment in
# /var/lib/cni/results (left when a pod was not torn down through CNI DEL). Ours only; the
# directories go if nothing else is in them.
remove_host_files() {
  local f id
  for f in /var/log/containers/*.log; do
    [ -L "$f" ] || continue
    case "$(readlink "$f")" in "$cluster_dir"/*) rm -f "$f" ;; esac
  done
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  for f in /var/lib/cni/results/"$cni_network"-*; do
    [ -e "$f" ] || continue
    id=${f#/var/lib/cni/results/"$cni_network"-}; id=${id%-*}
    rm -f "$f" "/var/lib/cni/results/cni-loopback-$id-lo"
  done
  rmdir /var/log/containers /var/lib/kubelet/device-plugins /var/lib/kubelet /var/lib/cni/results /var/lib/cni 2>/dev/null || true
}

# What is still there? Prints one line per leftover; returns 1 if any.
leftovers() {
  local c bad=0 p
  for c in "${components[@]}"; do if alive "$c"; then echo "process $c ($(pid_of "$c"))"; bad=1; fi; done
  p=$(our_shims | tr '\n' ' '); if [ -n "$p" ]; then echo "containerd shims: $p"; bad=1; fi
  p=$(awk -v d="$cluster_dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts); if [ -n "$p" ]; then echo "mounts: $p"; bad=1; fi
  for c in iptables ip6tables; do
    command -v "$c" >/dev/null || continue
    p=$(for t in filter nat mangle raw; do "$c" -w 10 -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI|AIRGAP)-/ { print $2 }'; done | tr '\n' ' ')
    if [ -n "$p" ]; then echo "$c chains: $p"; bad=1; fi
  done
  if ip link show "$bridge" >/dev/null 2>&1; then echo "bridge $bridge"; bad=1; fi
  p=$(ip route show "$service_cidr" 2>/dev/null); if [ -n "$p" ]; then echo "route $p"; bad=1; fi
  p=$(find /var/lib/cni/results -maxdepth 1 -name "$cni_network-*" 2>/dev/null | tr '\n' ' '); if [ -n "$p" ]; then echo "files: $p"; bad=1; fi
  if [ "$(readlink /tmp/hostpath_pv 2>/dev/null)" = "$cluster_dir/volumes" ]; then echo "symlink /tmp/hostpath_pv"; bad=1; fi
  p=$(find /sys/fs/cgroup -maxdepth 2 -name 'kubepods*' -type d 2>/dev/null | tr '\n' ' '); if [ -n "$p" ]; then echo "cgroups: $p"; bad=1; fi
  return $bad
}

main() {
  need_root
  if [ ! -d "$cluster_dir" ]; then log "no cluster directory $cluster_dir: nothing to stop"; exit 0; fi
  lock_cluster
  local was_up='' c netns
  for c in "${components[@]}"; do if alive "$c"; then was_up=1; fi; done

  drain; step "workloads and pods deleted"
  for c in kube-proxy kubelet kube-scheduler kube-controller-manager; do stop "$c"; step "$c stopped"; done
  netns=$(our_netns)
  remove_containers; step "containers removed"
  stop containerd
  stop_shims; step "containerd and shims stopped"
  stop kube-apiserver; step "kube-apiserver stopped"
  stop etcd; step "etcd stopped"

  # shellcheck disable=SC2086
  remove_mounts $netns
  remove_chains
  remove_network
  remove_cgroups
  remove_volume_link
  remove_host_files
  remove_run_dirs
  restore_sysctls
  step "mounts, chains, bridge, cgroups and sysctls cleaned"

  local left
  if ! left=$(leftovers); then
    log "down in $(since "$t0")s, but these are left behind (the cluster directory is kept):"
    echo "$left" | sed 's/^/  /' >&2
    exit 1
  fi
  remove_state
  if [ -n "$was_up" ]; then log "down in $(since "$t0")s; nothing left behind"; else log "was not running; nothing left behind"; fi
}

# Only once nothing is mounted under the cluster directory (checked above; --one-file-system is a
# second guard): the next up starts a new cluster, with new certificates and an empty etcd.
remove_state() {
  if [ "${AIRGAP_CLUSTER_WIPE:-}" = 1 ]; then
    rm -rf --one-file-system "$cluster_dir"
    log "removed $cluster_dir"
  elif [ "${AIRGAP_CLUSTER_KEEP:-}" != 1 ]; then
    find "$cluster_dir" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf --one-file-system {} +
  fi
}

main "$@"
