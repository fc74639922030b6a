#!/bin/sh
# Installs the Debian packages the injector build, tests and fuzzers need,
# skipping the apt round-trip when every tool is already present.
set -eu

need=""
have() { command -v "$1" >/dev/null 2>&1; }

have gcc || need="$need gcc libc6-dev"
have musl-gcc || need="$need musl-tools"
have aarch64-linux-gnu-gcc || need="$need gcc-aarch64-linux-gnu"
[ -f /usr/aarch64-linux-gnu/lib/libc.a ] || need="$need libc6-dev-arm64-cross"
have make || need="$need make"
if [ "${WITH_FUZZ:-1}" = 1 ]; then
	have clang || need="$need clang"
	# libFuzzer ships separately from clang on some Debian releases.
	ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
		need="$need libclang-rt-dev"
fi
if [ "${WITH_QEMU:-1}" = 1 ]; then
	have qemu-aarch64-static || have qemu-aarch64 || need="$need qemu-user-static"
fi

[ -z "$need" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing:$need"
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
