#!/usr/bin/env bash
# Benchmarks z-ai-proxy against an nginx hop and the Portkey gateway on this machine and
# writes bench/RESULTS.md, bench/latency_vs_rate.png and bench/soak_rss.png.
#
#   bash bench/run.sh [--smoke] [--soak-seconds N] [--streams N] [--stages core,load,rss,soak] [--no-build]
#
# --smoke: every stage in miniature (about 2 minutes); writes to bench/out/smoke/ instead and
#          leaves the committed results alone. Exits non-zero if anything failed.
# Installs what is missing (Debian packages, bench/node_modules from its lockfile), builds
# build/z-ai-proxy (Release), build-bench/zproxy_core_bench (--smoke: linked against the
# release build's libzproxy_core.a and libzproxy_test_support.a), build-wasm/zproxy_test.wasm
# (the Wasm side of the core benchmark) and the tools in bench/tools/, then runs
# bench/harness/main.mjs on CPU 1 (the proxy under test gets CPU 0).
# Set ZPROXY_BIN to benchmark another z-ai-proxy binary. Only loopback is used; every process
# started is stopped by PID, also on Ctrl-C.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$root"

smoke=0
build=1
soak=""
streams=""
stages=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --no-build) build=0 ;;
    --soak-seconds) soak=$2; shift ;;
    --streams) streams=$2; shift ;;
    --stages) stages=$2; shift ;;
    *) echo "usage: bash bench/run.sh [--smoke] [--soak-seconds N] [--streams N] [--stages LIST] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(nproc)" -lt 2 ]; then
  echo "bench: needs 2 CPUs (proxy on CPU 0, load and upstream on CPU 1)" >&2
  exit 2
fi

bin=bench/out/bin
core_bench=build-bench/zproxy_core_bench
if [ "$build" = 1 ]; then
  ensure_apt "${native_packages[@]}" nginx wrk gnuplot-nox libbenchmark-dev emscripten binaryen redis-server
  ensure_node
  if ! [ -f bench/node_modules/.zproxy-lock ] || ! cmp -s bench/package-lock.json bench/node_modules/.zproxy-lock; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
    cp bench/package-lock.json bench/node_modules/.zproxy-lock
  fi
  if [ -z "${ZPROXY_BIN:-}" ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    targets=(z-ai-proxy)
    [ "$smoke" = 1 ] && targets+=(zproxy_test_support)  # the smoke core benchmark links it
    cmake --build build -j"$jobs" --target "${targets[@]}"
  fi
  if [ "$smoke" = 1 ] && [ -f build/libzproxy_core.a ] && [ -f build/libzproxy_test_support.a ] &&
    [ -d build/generated ]; then
    # Smoke: link against the core the release build just made instead of compiling it again.
    mkdir -p "$bin"
    g++ -std=c++20 -O2 -DNDEBUG -DRAPIDJSON_HAS_STDSTRING=1 -Isrc -Itests -Ibuild/generated \
      -isystem build/rapidjson_include -o "$bin/zproxy_core_bench" bench/core_bench.cpp \
      build/libzproxy_test_support.a build/libzproxy_core.a -lbenchmark -lpthread
    core_bench=$bin/zproxy_core_bench
  else
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DZPROXY_BUILD_BENCH=ON \
      -DZPROXY_BUILD_TESTS=OFF -DZPROXY_BUILD_SERVER=OFF >/dev/null
    cmake --build build-bench -j"$jobs" --target zproxy_core_bench
  fi
  if command -v emcmake >/dev/null; then bash scripts/build-wasm.sh --with-test-module; fi
  mkdir -p "$bin"
  for tool in loadgen paced_upstream roundtrip_floor; do
    srcs=(bench/tools/$tool.cpp)
    [ "$tool" = loadgen ] && srcs+=(bench/tools/http_reader.cpp)
    if [ ! -x "$bin/$tool" ] || [ -n "$(find "${srcs[@]}" bench/tools/*.h -newer "$bin/$tool")" ]; then
      g++ -std=c++20 -O2 -Wall -Wextra -o "$bin/$tool" "${srcs[@]}"
    fi
  done
fi

[ -x "$core_bench" ] || core_bench=$bin/zproxy_core_bench

# 1,000 streams need about 4 descriptors each across proxy, generator and upstream.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

args=(--zproxy "${ZPROXY_BIN:-build/z-ai-proxy}" --loadgen "$bin/loadgen" --paced "$bin/paced_upstream"
  --floor "$bin/roundtrip_floor"
  --core-bench "$core_bench" --wasm build-wasm/zproxy_test.wasm)
[ -n "$soak" ] && args+=(--soak-seconds "$soak")
[ -n "$stages" ] && args+=(--stages "$stages")
[ -n "$streams" ] && args+=(--streams "$streams")
if [ "$smoke" = 1 ]; then
  args+=(--smoke --out bench/out/smoke)
  watchdog=400
else
  args+=(--out bench/out/full --md bench/RESULTS.md --plot bench/latency_vs_rate.png
    --soak-plot bench/soak_rss.png)
  watchdog=$((3600 + ${soak:-600}))
fi

out=bench/out/$([ "$smoke" = 1 ] && echo smoke || echo full)
# Stops what the harness recorded in $out/pids and left running (only if it died abruptly):
# each PID only while it still runs the program recorded for it.
reap() {
  [ -f "$out/pids" ] || return 0
  while read -r pid comm; do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done <"$out/pids"
}
BENCH_WATCHDOG_S=$watchdog taskset -c 1 node bench/harness/main.mjs "${args[@]}" &
harness=$!
trap 'kill -TERM "$harness" 2>/dev/null; wait "$harness"; reap; exit 130' INT TERM
rc=0
wait "$harness" || rc=$?
reap
exit "$rc"
