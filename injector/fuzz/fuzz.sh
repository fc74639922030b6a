#!/bin/bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for
# FUZZ_SECONDS (default 60). Exits non-zero if any harness finds a crash,
# leak or sanitizer error; the reproducer is left in fuzz/out/<harness>/.
#
#   ./fuzz/fuzz.sh                  all three harnesses, 60 s each
#   FUZZ_SECONDS=600 ./fuzz/fuzz.sh fuzz_http
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_EACH=${FUZZ_SECONDS:-60}
CC=${FUZZ_CC:-clang}
OUT=out
HARNESSES=("${@:-fuzz_tar fuzz_index fuzz_http}")
read -r -a HARNESSES <<<"${HARNESSES[*]}"
SRCS="../err.c ../http.c ../indextxt.c ../names.c ../payload.c ../tar.c"
CFLAGS="-std=c11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found; run ../deps.sh" >&2; exit 2; }

# seed_payload writes a valid payload (as the Go writer lays it out) with GNU tar.
seed_payload() {
	local dir tmp
	dir=$(cd "$1" && pwd)
	tmp=$(mktemp -d)
	mkdir -p "$tmp/blobs/sha256"
	printf '{}' >"$tmp/m"
	local hex
	hex=$(sha256sum "$tmp/m" | cut -c1-64)
	mv "$tmp/m" "$tmp/blobs/sha256/$hex"
	printf 'layer' >"$tmp/blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111"
	printf 'manifest sha256:%s application/vnd.oci.image.manifest.v1+json\ntag airgap/registry:3 sha256:%s\n' \
		"$hex" "$hex" >"$tmp/index.txt"
	(cd "$tmp" && tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 -b 1 \
		-cf "$dir/seed.tar" index.txt blobs/sha256/*)
	rm -rf "$tmp"
}

seed() {
	local name=$1 dir=$OUT/$1/seeds
	mkdir -p "$dir"
	case $name in
	fuzz_tar) seed_payload "$dir" ;;
	fuzz_index)
		printf 'manifest sha256:%s application/vnd.oci.image.index.v1+json\nmanifest sha256:%s a/b\ntag airgap/registry:3 sha256:%s\ntag a:b sha256:%s\n' \
			"$(printf '1%.0s' {1..64})" "$(printf '2%.0s' {1..64})" \
			"$(printf '1%.0s' {1..64})" "$(printf '2%.0s' {1..64})" >"$dir/seed-1.txt"
		;;
	fuzz_http)
		printf 'GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n' >"$dir/base"
		printf 'HEAD /v2/airgap/registry/manifests/3 HTTP/1.1\r\nAccept: */*\r\n\r\n' >"$dir/manifest"
		printf 'GET /v2/a/b/blobs/sha256:%s?x=1 HTTP/1.0\r\n\r\n' "$(printf 'a%.0s' {1..64})" >"$dir/blob"
		;;
	esac
}

status=0
summary=()
for h in "${HARNESSES[@]}"; do
	dict=payload.dict
	[ "$h" = fuzz_http ] && dict=http.dict
	mkdir -p "$OUT/$h/corpus"
	seed "$h"
	# shellcheck disable=SC2086 # SRCS and CFLAGS are word lists
	nice "$CC" $CFLAGS -o "$OUT/$h/$h" "$h.c" $SRCS
	log=$OUT/$h/run.log
	echo "fuzz.sh: running $h for ${SECONDS_EACH}s"
	if nice "$OUT/$h/$h" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -dict="$dict" \
		-artifact_prefix="$OUT/$h/" "$OUT/$h/corpus" "$OUT/$h/seeds" >"$log" 2>&1; then
		result=ok
	else
		result="FAILED (see $log and $OUT/$h/crash-*)"
		status=1
	fi
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
	summary+=("$h: $result, $execs executions, $cov, corpus $(ls "$OUT/$h/corpus" | wc -l) inputs")
done
printf '%s\n' "${summary[@]}"
exit $status
