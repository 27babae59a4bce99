#!/usr/bin/env bash
# Runs one libFuzzer harness for a while and merges what it found into the committed corpus.
#   scripts/fuzz.sh HARNESS SECONDS [extra libFuzzer flags]
#   e.g. scripts/fuzz.sh sse_parser_fuzz 600
# Builds with clang into build-fuzz/ (-DZPROXY_FUZZ=ON, ASan+UBSan, asserts on), fuzzes a copy
# of fuzz/corpus/HARNESS, then merges with -merge=1: only inputs that add coverage are added to
# fuzz/corpus/HARNESS (the hand-written seeds stay; FUZZ_MERGE=0 skips this). Prints
# libFuzzer's final stats.
# A crash leaves its reproducer in build-fuzz/artifacts/HARNESS/ and exits non-zero; once fixed,
# commit the reproducer as fuzz/corpus/HARNESS/regress-<what> so ctest replays it forever.
set -euo pipefail

# Everything runs inside main so that editing this file during a run cannot break the run.
main() {
  if [ $# -lt 2 ]; then
    echo "usage: $0 HARNESS SECONDS [libFuzzer flags...]" >&2
    return 2
  fi
  local harness=$1 seconds=$2
  shift 2
  root=$(cd "$(dirname "$0")/.." && pwd)
  build="$root/build-fuzz"
  corpus="$root/fuzz/corpus/$harness"
  [ -f "$root/fuzz/$harness.cpp" ] || { echo "no harness fuzz/$harness.cpp" >&2; exit 2; }
  mkdir -p "$corpus"

  # A build type of our own: no -DNDEBUG, so RapidJSON's asserts (a Get*() on the wrong type)
  # abort and count as crashes. The lock lets several harnesses start at once on one build dir.
  mkdir -p "$build"
  (
    flock 9
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DZPROXY_FUZZ=ON -DZPROXY_BUILD_TESTS=OFF \
      -DZPROXY_BUILD_SERVER=OFF -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_FLAGS="-O1 -g" >/dev/null
    cmake --build "$build" --target "$harness" -j "$(nproc)"
  ) 9>"$build/.lock"

  work=$(mktemp -d "${TMPDIR:-/tmp}/$harness.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/corpus" "$build/artifacts/$harness"
  cp -r "$corpus/." "$work/corpus/"

  # UndefinedBehaviorSanitizer findings count as crashes, except one known to be harmless:
  # RapidJSON 1.1.0's Stack adds an offset to its still-null pointer before its first
  # allocation (fixed upstream after 1.1.0).
  printf 'pointer-overflow:rapidjson/internal/stack.h\n' >"$work/ubsan.supp"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$work/ubsan.supp"

  log="$work/fuzz.log"
  status=0
  (cd "$work" && "$build/$harness" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$harness/" "$@" "$work/corpus") >"$log" 2>&1 || status=$?

  # The last progress line is libFuzzer's summary: "#runs DONE cov: … ft: … corp: … exec/s: …".
  grep -E '^#[0-9]+' "$log" | tail -n 1 || true
  grep -E '^(stat::|Done [0-9]+ runs)' "$log" || true
  if [ "$status" -ne 0 ]; then
    grep -E '^(==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' "$log" >&2 || true
    echo "$harness failed (exit $status); full log kept at $build/$harness.log" >&2
    cp "$log" "$build/$harness.log"
    exit "$status"
  fi

  [ "${FUZZ_MERGE:-1}" = 0 ] && exit 0
  before=$(find "$corpus" -type f | wc -l)
  "$build/$harness" -merge=1 "$corpus" "$work/corpus" >"$work/merge.log" 2>&1 || {
    cat "$work/merge.log" >&2
    exit 1
  }
  after=$(find "$corpus" -type f | wc -l)
  echo "corpus fuzz/corpus/$harness: $before -> $after files"
}

main "$@"; exit
