#!/usr/bin/env bash
# Developer shortcut: compile a Catch2 test binary from just the given sources (plus the shared
# Catch2 main, compiled once) and run it. Lets one module be tested while others are in flux.
#   scripts/dev-unit.sh NAME src/sse/sse_parser.cpp tests/unit/sse_parser_test.cpp [-- catch args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dev=/tmp/zproxy-dev
mkdir -p "$dev/rj" "$dev/generated/core"
[ -e "$dev/rj/rapidjson" ] || ln -s /usr/include/rapidjson "$dev/rj/rapidjson"
sed 's/@PROJECT_VERSION@/0.0.0-dev/' "$root/src/core/version.h.in" > "$dev/generated/core/version.h"
[ -f "$dev/catch_main.o" ] || g++ -std=c++20 -O0 -c "$root/tests/unit/catch_main.cpp" -o "$dev/catch_main.o"
name=$1; shift
srcs=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do srcs+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
g++ -std=c++20 -O1 -g -fsanitize=address,undefined -Wall -Wextra -Wno-unused-parameter \
  -DRAPIDJSON_HAS_STDSTRING=1 -DZPROXY_FIXTURE_DIR="\"$root/tests/fixtures\"" \
  -I"$root/src" -I"$root/tests/unit" -I"$dev/generated" -isystem "$dev/rj" \
  "${srcs[@]}" "$dev/catch_main.o" -o "$dev/$name"
"$dev/$name" "$@"
