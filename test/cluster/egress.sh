#!/usr/bin/env bash
# The cluster's egress rules: pods reach the node and each other, nothing else; every packet that
# would have left the machine is rejected and counted. Host processes' connection attempts to
# anything outside the machine are counted too (and rejected with AIRGAP_CLUSTER_HOST_EGRESS=reject).
# README.md ("Egress") explains each rule.
#
#   egress.sh install     (re)create the chains and jump to them first in FORWARD and OUTPUT
#   egress.sh pin-first   move the jumps back to position 1 (kube-proxy prepends its own)
#   egress.sh remove      delete the jumps and the chains (harmless when absent)
#   egress.sh counters    print "egress N", "services N", "host N", "enclave N" (packets, IPv4 + IPv6)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

host_mode=${AIRGAP_CLUSTER_HOST_EGRESS:-count}
enclave_gid=${AIRGAP_CLUSTER_ENCLAVE_GID:-47110}
chains=(AIRGAP-FORWARD AIRGAP-OUTPUT AIRGAP-EGRESS AIRGAP-SERVICES AIRGAP-HOST AIRGAP-ENCLAVE)

ipt() { iptables -w 10 "$@"; }
ip6t() { ip6tables -w 10 "$@"; }

# The IPv4 filter rules, in iptables-restore syntax, applied in one transaction.
rules_v4() {
  local log=$1 host_target=RETURN host_match="-m conntrack --ctstate NEW"
  if [ "$host_mode" = reject ]; then host_target="REJECT --reject-with icmp-admin-prohibited"; host_match=""; fi
  echo "*filter"
  for c in "${chains[@]}"; do echo ":$c - [0:0]"; done
  cat <<EOF2
-I FORWARD 1 -m comment --comment "airgap: cluster egress rules" -j AIRGAP-FORWARD
-I OUTPUT 1 -m comment --comment "airgap: host egress rules" -j AIRGAP-OUTPUT
-A AIRGAP-FORWARD -d $service_cidr -m comment --comment "service address kube-proxy did not translate" -j AIRGAP-SERVICES
-A AIRGAP-FORWARD -i $bridge -o $bridge -m comment --comment "pod to pod" -j RETURN
-A AIRGAP-FORWARD -i $bridge -m comment --comment "pod to anything outside the node" -j AIRGAP-EGRESS
-A AIRGAP-FORWARD -s $pod_cidr -m comment --comment "pod address on another interface" -j AIRGAP-EGRESS
-A AIRGAP-FORWARD -d $pod_cidr ! -o $bridge -m comment --comment "pod address routed elsewhere" -j AIRGAP-EGRESS
-A AIRGAP-OUTPUT -d $service_cidr -m comment --comment "service address kube-proxy did not translate" -j AIRGAP-SERVICES
-A AIRGAP-OUTPUT -d $pod_cidr -m comment --comment "to pods (routed to the bridge)" -j RETURN
-A AIRGAP-OUTPUT -o lo -j RETURN
-A AIRGAP-OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "to any address of this machine" -j RETURN
-A AIRGAP-OUTPUT -m owner --gid-owner $enclave_gid -m comment --comment "enclave processes" -j AIRGAP-ENCLAVE
-A AIRGAP-OUTPUT $host_match -m comment --comment "host process to the outside" -j AIRGAP-HOST
EOF2
  if [ "$log" = 1 ]; then
    echo "-A AIRGAP-EGRESS -m limit --limit 6/min --limit-burst 10 -j LOG --log-prefix \"airgap-egress: \""
    echo "-A AIRGAP-ENCLAVE -m limit --limit 6/min --limit-burst 10 -j LOG --log-prefix \"airgap-enclave: \""
  fi
  cat <<EOF2
-A AIRGAP-EGRESS -m comment --comment "airgap: counted egress" -j REJECT --reject-with icmp-admin-prohibited
-A AIRGAP-ENCLAVE -m comment --comment "airgap: counted enclave egress" -j REJECT --reject-with icmp-admin-prohibited
-A AIRGAP-SERVICES -m comment --comment "airgap: counted untranslated service address" -j REJECT --reject-with icmp-port-unreachable
-A AIRGAP-HOST -m comment --comment "airgap: counted host egress" -j $host_target
COMMIT
EOF2
}

# IPv6: pods have only link-local IPv6 addresses: what they send stays on the bridge (neighbour and
# router solicitations), anything routed to or from the bridge is refused. Host processes' IPv6
# connection attempts outside the machine are counted like IPv4's (link-local and multicast, i.e.
# neighbour discovery, are not).
rules_v6() {
  local host_target=RETURN host_match="-m conntrack --ctstate NEW"
  if [ "$host_mode" = reject ]; then host_target="REJECT --reject-with icmp6-adm-prohibited"; host_match=""; fi
  echo "*filter"
  for c in "${chains[@]}"; do echo ":$c - [0:0]"; done
  cat <<EOF2
-I FORWARD 1 -m comment --comment "airgap: cluster egress rules" -j AIRGAP-FORWARD
-I OUTPUT 1 -m comment --comment "airgap: host egress rules" -j AIRGAP-OUTPUT
-A AIRGAP-FORWARD -i $bridge -o $bridge -m comment --comment "bridged between pods (neighbour discovery)" -j RETURN
-A AIRGAP-FORWARD -i $bridge -j AIRGAP-EGRESS
-A AIRGAP-FORWARD -o $bridge -j AIRGAP-EGRESS
-A AIRGAP-OUTPUT -o lo -j RETURN
-A AIRGAP-OUTPUT -d fe80::/10 -j RETURN
-A AIRGAP-OUTPUT -d ff00::/8 -j RETURN
-A AIRGAP-OUTPUT -m addrtype --dst-type LOCAL -j RETURN
-A AIRGAP-OUTPUT -m owner --gid-owner $enclave_gid -j AIRGAP-ENCLAVE
-A AIRGAP-OUTPUT $host_match -j AIRGAP-HOST
-A AIRGAP-EGRESS -m comment --comment "airgap: counted egress" -j REJECT --reject-with icmp6-adm-prohibited
-A AIRGAP-ENCLAVE -m comment --comment "airgap: counted enclave egress" -j REJECT --reject-with icmp6-adm-prohibited
-A AIRGAP-HOST -m comment --comment "airgap: counted host egress" -j $host_target
COMMIT
EOF2
}

have_v6() { ip6tables -w 10 -S OUTPUT >/dev/null 2>&1; }

install() {
  case "$host_mode" in count | reject) ;; *) die "AIRGAP_CLUSTER_HOST_EGRESS must be count or reject, not '$host_mode'" ;; esac
  remove
  # LOG makes the kernel log say what tried to leave; if this kernel lacks it, count only.
  if ! rules_v4 1 | iptables-restore -w 10 --noflush 2>/dev/null; then
    rules_v4 0 | iptables-restore -w 10 --noflush || die "could not install the IPv4 egress rules"
  fi
  if have_v6; then rules_v6 | ip6tables-restore -w 10 --noflush || die "could not install the IPv6 egress rules"; fi
  log "egress rules installed (pods: reject and count; host: $host_mode; enclave gid $enclave_gid: reject and count)"
}

# pin_first CMD CHAIN TARGET COMMENT: make the jump to TARGET rule 1 of CHAIN (insert it first,
# then delete the older copy by number, so there is never a moment without it).
pin_first() {
  local cmd=$1 chain=$2 target=$3 comment=$4 n
  if "$cmd" -w 10 -S "$chain" | sed -n 2p | grep -q -- "-j $target\$"; then return 0; fi
  "$cmd" -w 10 -I "$chain" 1 -m comment --comment "$comment" -j "$target"
  n=$("$cmd" -w 10 -S "$chain" | sed 1d | grep -n -- "-j $target\$" | sed -n 2p | cut -d: -f1)
  [ -z "$n" ] || "$cmd" -w 10 -D "$chain" "$n"
}

pin() {
  local cmd
  for cmd in iptables ip6tables; do
    if [ $cmd = ip6tables ] && ! have_v6; then continue; fi
    pin_first $cmd FORWARD AIRGAP-FORWARD "airgap: cluster egress rules"
    pin_first $cmd OUTPUT AIRGAP-OUTPUT "airgap: host egress rules"
  done
}

remove_family() {
  local cmd=$1 c
  command -v "$cmd" >/dev/null || return 0
  for c in FORWARD:AIRGAP-FORWARD OUTPUT:AIRGAP-OUTPUT; do
    while "$cmd" -w 10 -S "${c%%:*}" 2>/dev/null | grep -q -- "-j ${c#*:}\$"; do
      local n; n=$("$cmd" -w 10 -S "${c%%:*}" | sed 1d | grep -n -- "-j ${c#*:}\$" | head -1 | cut -d: -f1)
      "$cmd" -w 10 -D "${c%%:*}" "$n"
    done
  done
  for c in "${chains[@]}"; do "$cmd" -w 10 -F "$c" 2>/dev/null || true; done
  for c in "${chains[@]}"; do "$cmd" -w 10 -X "$c" 2>/dev/null || true; done
}

remove() { remove_family iptables; remove_family ip6tables; }

# Sum of the packet counters of CHAIN's REJECT/RETURN rules (LOG rules excluded).
count() {
  local chain=$1 total=0 n cmd
  for cmd in iptables ip6tables; do
    n=$("$cmd" -w 10 -t filter -nvxL "$chain" 2>/dev/null | awk 'NR > 2 && $3 != "LOG" { s += $1 } END { print s + 0 }') || n=0
    total=$((total + n))
  done
  echo "$total"
}

counters() {
  iptables -w 10 -S AIRGAP-EGRESS >/dev/null 2>&1 || die "the egress rules are not installed (is the cluster up?)"
  echo "egress $(count AIRGAP-EGRESS)"
  echo "services $(count AIRGAP-SERVICES)"
  echo "host $(count AIRGAP-HOST)"
  echo "enclave $(count AIRGAP-ENCLAVE)"
}

case "${1:-}" in
  install) need_root; install ;;
  pin-first) need_root; pin ;;
  remove) need_root; remove ;;
  counters) counters ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
