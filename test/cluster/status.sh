#!/usr/bin/env bash
# Prints which of the cluster's components run (with their PIDs), the node's state and the egress
# counters. Exits 0 when every component runs, 1 otherwise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rc=0
echo "cluster directory: $cluster_dir"
for c in "${components[@]}"; do
  if alive "$c"; then printf '  %-24s running (pid %s)\n' "$c" "$(pid_of "$c")"; else printf '  %-24s not running\n' "$c"; rc=1; fi
done
if [ $rc = 0 ]; then
  kctl get nodes -o wide 2>/dev/null | sed 's/^/  /' || true
  "$here/egress.sh" counters | sed 's/^/  packets: /'
fi
exit $rc
