#!/usr/bin/env bash
# Installs the native build dependencies (idempotently) and builds build/z-ai-proxy.
# Used by scripts/run.sh and by the Dockerfile's build stage, so both build the same way.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_apt "${native_packages[@]}"
# A first configure leaves the tests out (Catch2 is not needed to run the server); an existing
# build folder (e.g. the test script's, with tests on) keeps its options unless asked.
tests=()
if [ -n "${ZPROXY_BUILD_TESTS:-}" ]; then
  tests=(-DZPROXY_BUILD_TESTS="$ZPROXY_BUILD_TESTS")
elif [ ! -f "$root/build/CMakeCache.txt" ]; then
  tests=(-DZPROXY_BUILD_TESTS=OFF)
fi
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release "${tests[@]}" >/dev/null
cmake --build "$root/build" -j"$jobs" --target z-ai-proxy
