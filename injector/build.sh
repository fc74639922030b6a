#!/bin/sh
# Builds the injector: `./build.sh` for both architectures, or pass make
# targets and variables, e.g. `./build.sh amd64 BIN=/tmp/out`.
# Run ./deps.sh first on a fresh Debian machine.
set -eu
cd "$(dirname "$0")"
exec make --no-print-directory "${@:-all}"
