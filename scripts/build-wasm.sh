#!/usr/bin/env bash
# Builds the core as a standalone Wasm reactor for the Worker: build-wasm/zproxy.wasm
# (Emscripten, -O3 -flto -DNDEBUG, -fno-exceptions; flags in CMakeLists.txt, which override
# the build type's optimisation level, so an existing build folder picks them up too). wrangler.toml runs this
# as its [build] command, so several `wrangler dev` instances may run it at once: builds are
# serialised by a lock on the build folder, and ZPROXY_WASM_PREBUILT=1 (set by the e2e harness,
# whose caller built the module first) makes it a no-op while the module exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build-wasm/zproxy.wasm

if [ "${ZPROXY_WASM_PREBUILT:-}" = 1 ] && [ -s "$out" ]; then exit 0; fi

mkdir -p build-wasm
exec 9>build-wasm/.build.lock
flock 9
if ! grep -qs '^CMAKE_TOOLCHAIN_FILE.*Emscripten' build-wasm/CMakeCache.txt; then
  emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG" >/dev/null
fi
targets=(zproxy_wasm)
# --with-test-module: also build-wasm/zproxy_test.wasm (golden-fixture and benchmark hooks,
# tests/wasm/fixture_boundary.cpp), which never ships.
[ "${1:-}" = --with-test-module ] && targets+=(zproxy_test_wasm)
cmake --build build-wasm -j"$(nproc)" --target "${targets[@]}"
ls -l build-wasm/*.wasm
