#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotently: apt, Node >= 20, npm ci) and runs every test:
# unit + golden + fuzz-corpus replays + the Redis backend against a redis-server of its own
# (release and ASan/UBSan), the Wasm build and its golden fixtures, the Worker's shared state
# store (Durable Objects under Miniflare and wrangler dev), a miniature benchmark run, the
# end-to-end suite against the native server (alone, and as two replicas sharing a redis-server)
# and against `wrangler dev`, the README's commands
# as written, and the container image. Prints
# each stage's duration; exits non-zero if any stage failed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"

setup() {
  # redis-server: the Redis backend's tests start their own (ctest's `redis`).
  ensure_apt "${native_packages[@]}" clang clang-format libclang-rt-14-dev emscripten binaryen curl \
    podman buildah debootstrap runc uidmap slirp4netns fuse-overlayfs procps redis-server
  ensure_node && ensure_npm_deps
}

core_purity() {
  # src/ is sans-I/O: no Boost, sockets, clocks, streams, environment or randomness.
  if grep -rnE '#include *<(boost/|asio|iostream|thread|random|sys/socket|chrono)|getenv\(|steady_clock|system_clock|std::rand|\bprintf\(|std::cout|std::cerr|abort\(\)' src; then
    echo "src/ must stay free of I/O, clocks, environment, randomness and printing" >&2
    return 1
  fi
  # RapidJSON stays inside src/json/: everything else reads JSON through JsonValue and writes it
  # through JsonWriter (json/json.h), and never sees a RapidJSON type. So no file outside
  # src/json/ names rapidjson (an include or a type), nor includes a src/json/ header that
  # includes RapidJSON, directly or through another such header.
  local sources=(--include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc'
    --exclude-dir=node_modules --exclude-dir=corpus)
  local offenders
  offenders=$(grep -rlE '#\s*include\s*[<"]rapidjson/|rapidjson::' "${sources[@]}" \
    src native worker tests fuzz bench | grep -v '^src/json/')
  local inner=() grown=1 h
  while [ "$grown" = 1 ]; do
    grown=0
    for h in src/json/*.h; do
      if printf '%s\n' "${inner[@]}" | grep -qxF "${h#src/}"; then continue; fi
      if grep -qE '#\s*include\s*<rapidjson/' "$h" ||
        { [ ${#inner[@]} -gt 0 ] &&
          grep -oE '#\s*include\s*"json/[^"]+"' "$h" | grep -oE 'json/[^"]+' |
          grep -qxF -f <(printf '%s\n' "${inner[@]}"); }; then
        inner+=("${h#src/}")
        grown=1
      fi
    done
  done
  if [ ${#inner[@]} -gt 0 ]; then
    local pattern
    pattern=$(printf '%s|' "${inner[@]}" | sed 's/\./\\./g; s/|$//')
    offenders+=$'\n'$(grep -rlE "#\\s*include\\s*\"($pattern)\"" "${sources[@]}" \
      src native worker tests fuzz bench | grep -v '^src/json/')
  fi
  offenders=$(sed '/^$/d' <<<"$offenders" | sort -u)
  if [ -n "$offenders" ]; then
    echo "only src/json/ may see RapidJSON (its headers, its types, or the src/json/ headers" \
      "that include it: ${inner[*]}); use json/json.h instead in:" >&2
    echo "$offenders" | sed 's/^/  /' >&2
    return 1
  fi
}

# Every C++ file of the project formatted as .clang-format says (fuzz corpora are data).
formatting() {
  local files
  mapfile -t files < <(git ls-files '*.cpp' '*.h' | grep -v '^fuzz/corpus/')
  clang-format --dry-run -Werror "${files[@]}"
}

release() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DZPROXY_WERROR=ON >/dev/null &&
    cmake --build build -j"$jobs" &&
    (cd build && ctest --output-on-failure -j"$jobs" --timeout 600)
}

sanitizers() {
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZPROXY_SANITIZE=ON \
    -DZPROXY_BUILD_SERVER=OFF >/dev/null &&
    cmake --build build-asan -j"$jobs" &&
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" --timeout 900)
}

wasm() {
  ZPROXY_WERROR=1 bash scripts/build-wasm.sh --with-test-module && node --test tests/wasm/
}

e2e() {
  E2E_HOST=$1 node --test --test-concurrency=1 tests/e2e/
}

failed=()
run() { stage "$@" || failed+=("$1"); }

t0=$SECONDS
stage setup setup || { echo "setup failed"; exit 1; }
run core-purity core_purity
run format formatting
run release release
run wasm wasm
# STATE_STORE=durable_object: two Workers of the deployable bundle sharing one object class
# (Miniflare), and an object's storage across a wrangler dev restart.
run worker-store node --test --test-concurrency=1 tests/worker/
# The benchmark harness in miniature (about a minute), so it keeps working; it checks that
# every contender answers correctly, not how fast: no timing is asserted.
run bench-smoke bash bench/run.sh --smoke
run fake-upstream node --test tests/fake-upstream/
run e2e-native e2e native
# STATE_STORE=redis: two native replicas sharing one redis-server of the tests' own (credential
# health, rpm, usage, the store killed and restarted under load, a wrong password).
run replicas node --test --test-concurrency=1 tests/replicas/
# The README's run command and its curl and SDK examples, as written, against the fake.
run readme node --test tests/readme/
# The same suite against `wrangler dev`; a case may only be skipped for what docs/contract.md
# §11 lets the hosts differ in (process signals, command line, exit on a bad config).
run e2e-worker e2e worker
run container bash scripts/container-test.sh
run sanitizers sanitizers
echo "=== total: $((SECONDS - t0))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "ALL STAGES PASSED"
