#!/usr/bin/env bash
# Builds and runs tools/bench/membw.c: this machine's memory read and copy bandwidth.
# Usage: bash tools/bench/membw.sh [buffer MiB, default 1024] [threads, default nproc]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${TMPDIR:-/tmp}/graviton-llm-membw
cc=${CC:-gcc}
# -O3 without -march=native: the loop is memory-bound either way, and the
# result must not depend on which vector unit the compiler picked.
"$cc" -O3 -fopenmp -o "$bin" "$here/membw.c"
exec "$bin" "${1:-1024}" "${2:-$(nproc)}"
