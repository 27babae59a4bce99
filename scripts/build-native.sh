#!/usr/bin/env bash
# Installs the native build dependencies (idempotently) and builds build/z-ai-proxy.
# Used by scripts/run.sh and by the Dockerfile's build stage, so both build the same way.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_apt "${native_packages[@]}"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DZPROXY_BUILD_TESTS="${ZPROXY_BUILD_TESTS:-OFF}" >/dev/null
cmake --build "$root/build" -j"$jobs" --target z-ai-proxy
