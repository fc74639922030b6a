#!/bin/sh
# Installs the Debian packages the tests use, skipping apt entirely when all are present:
# skopeo (a peer that must read our OCI layout), unshare (util-linux: cosign runs without a
# network), curl and tar.
set -eu
need=""
command -v skopeo >/dev/null 2>&1 || need="$need skopeo"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v tar >/dev/null 2>&1 || need="$need tar"
[ -z "$need" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing:$need"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
