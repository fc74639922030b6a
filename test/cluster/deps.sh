#!/usr/bin/env bash
# Installs the Debian packages the node needs, only when one of their commands is missing:
# containerd (and ctr), runc, the CNI plugins, etcd, iptables, curl. Versions are Debian's
# (bookworm: containerd 1.6, runc 1.1, CNI plugins 1.1, etcd 3.4); see versions.env.
# Debian's containerd and etcd packages ship system services: the harness never uses them (it runs
# its own containerd and etcd with state under the cluster directory) and does not start them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# command-or-file  package
wanted() {
  cat <<'EOF2'
containerd                      containerd
ctr                             containerd
containerd-shim-runc-v2         containerd
runc                            runc
/usr/lib/cni/bridge             containernetworking-plugins
/usr/lib/cni/host-local         containernetworking-plugins
/usr/lib/cni/loopback           containernetworking-plugins
/usr/lib/cni/portmap            containernetworking-plugins
etcd                            etcd-server
iptables                        iptables
ip6tables                       iptables
curl                            curl
openssl                         openssl
ip                              iproute2
flock                           util-linux
EOF2
}

missing_packages() {
  local what pkg
  wanted | while read -r what pkg; do
    case "$what" in
      /*) [ -e "$what" ] || echo "$pkg" ;;
      *) command -v "$what" >/dev/null 2>&1 || echo "$pkg" ;;
    esac
  done | sort -u
}

main() {
  local pkgs
  pkgs=$(missing_packages)
  if [ -z "$pkgs" ]; then return 0; fi
  need_root
  command -v apt-get >/dev/null || die "missing packages (${pkgs//$'\n'/ }) and no apt-get: install them by hand"
  log "installing Debian packages: ${pkgs//$'\n'/ }"
  local start; start=$(date +%s.%N)
  # policy-rc.d exit 101: the packages' own services must not start (we run private instances).
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; added_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  [ -z "$added_policy" ] || rm -f "$policy"
  pkgs=$(missing_packages)
  [ -z "$pkgs" ] || die "still missing after apt-get install: ${pkgs//$'\n'/ }"
  log "installed Debian packages in $(since "$start")s"
}

main "$@"
