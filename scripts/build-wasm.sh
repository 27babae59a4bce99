#!/usr/bin/env bash
# Builds the core as a standalone Wasm reactor for the Worker: build-wasm/zproxy.wasm
# (Emscripten, -O3 -flto -DNDEBUG, -fno-exceptions; flags in CMakeLists.txt, which override
# the build type's optimisation level, so an existing build folder picks them up too). wrangler.toml runs this
# as its [build] command, so several `wrangler dev` instances may run it at once: builds are
# serialised by a lock on the build folder, and ZPROXY_WASM_PREBUILT=1 (set by the e2e harness,
# whose caller built the module first) makes it a no-op while the modules asked for exist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
targets=(zproxy_wasm)
outs=(build-wasm/zproxy.wasm)
# --with-test-module: also build-wasm/zproxy_test.wasm (golden-fixture and benchmark hooks,
# tests/wasm/fixture_boundary.cpp), which never ships.
if [ "${1:-}" = --with-test-module ]; then
  targets+=(zproxy_test_wasm)
  outs+=(build-wasm/zproxy_test.wasm)
fi

prebuilt() { for f in "${outs[@]}"; do [ -s "$f" ] || return 1; done; }
if [ "${ZPROXY_WASM_PREBUILT:-}" = 1 ] && prebuilt; then exit 0; fi

mkdir -p build-wasm
exec 9>build-wasm/.build.lock
flock 9
# ZPROXY_WERROR=1 (the test script sets it): compiler warnings are errors. Unset: the build
# folder keeps what it was configured with.
werror=()
[ "${ZPROXY_WERROR:-}" = 1 ] && werror=(-DZPROXY_WERROR=ON)
if ! grep -qs '^CMAKE_TOOLCHAIN_FILE.*Emscripten' build-wasm/CMakeCache.txt ||
  { [ ${#werror[@]} -gt 0 ] && ! grep -qs '^ZPROXY_WERROR:BOOL=ON' build-wasm/CMakeCache.txt; }; then
  emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG" "${werror[@]}" >/dev/null
fi
cmake --build build-wasm -j"$(nproc)" --target "${targets[@]}"
ls -l "${outs[@]}"
