#!/usr/bin/env bash
# Builds the core as a standalone Wasm module for the Worker: build-wasm/zproxy.wasm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export EM_CACHE="${EM_CACHE:-}"
emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build build-wasm -j"$(nproc)" --target zproxy_wasm
ls -l build-wasm/zproxy.wasm
