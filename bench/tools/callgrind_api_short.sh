#!/usr/bin/env bash
# User-space instructions per burst api_short request, counted by callgrind.
#
#   bash bench/tools/callgrind_api_short.sh [PROXY_BIN] [OUT_DIR]
#
# The canned nginx upstream of the bench (bench/harness/nginx.mjs), z-ai-proxy in API mode
# under `valgrind --tool=callgrind --instr-atstart=no`, and bench/tools/loadgen as the bench's
# burst drives it (32 connections, closed loop, the api_short request with a client key).
# Two loads are counted, a short one and a long one, each from a zeroed counter to a dump;
# the figure is the difference of their instructions divided by the difference of their
# requests, so start-up, connection set-up and the instrumentation switch cancel out.
# Prints the figure; the two dumps stay in OUT_DIR for callgrind_annotate (the long one:
# callgrind.out.long). (vgdb names its pipes after $HOST, which the proxy reads too: the
# control commands get the same HOST.) Every process started here is stopped by its own PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
proxy=$(realpath "${1:-$root/build/z-ai-proxy}")
out=$(mkdir -p "${2:-/tmp/zproxy-callgrind}" && realpath "${2:-/tmp/zproxy-callgrind}")
short_s=${SHORT_S:-4}
long_s=${LONG_S:-16}
cd "$root"

loadgen=$out/loadgen
g++ -std=c++20 -O2 -o "$loadgen" bench/tools/loadgen.cpp bench/tools/http_reader.cpp

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
up_port=$(free_port)
px_port=$(free_port)
node --input-type=module -e "
import fs from 'node:fs';
import { upstreamConf, writeConf } from './bench/harness/nginx.mjs';
console.log(writeConf('$out/up', upstreamConf('$out/up', $up_port)));" >"$out/conf.path"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
nginx -p "$out/up" -c "$(cat "$out/conf.path")" &
pids+=($!)

PORT=$px_port HOST=127.0.0.1 API_KEY=sk-bench SHUTDOWN_GRACE_S=1 UPSTREAM_MODE=api ZAI_API_KEYS=k1 \
  ZAI_API_BASE_URL=http://127.0.0.1:$up_port/n/api/paas/v4 \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.out.%p" \
  "$proxy" >"$out/proxy.log" 2>"$out/valgrind.log" &
vg=$!
pids+=($vg)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$px_port/healthz" >/dev/null 2>&1 && break
  sleep 0.3
done

body='{"model":"glm-4.6","messages":[{"role":"user","content":"What is the capital of France?"}]}'
printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-bench\r\nContent-Length: %s\r\n\r\n%s' \
  "$px_port" "${#body}" "$body" >"$out/req.http"
load() {
  "$loadgen" --port "$px_port" --request "$out/req.http" --concurrency 32 --duration "$1" \
    --warmup 0 --drain 30 --expect 'Paris is the capital of France.' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);if(r.errors_total)process.exit(1);console.log(r.ok)})'
}
# Warm-up, uncounted: the upstream connection cache, the allocator's arenas.
load 2 >/dev/null
HOST=127.0.0.1 callgrind_control -i on "$vg" >/dev/null
count() {
  HOST=127.0.0.1 callgrind_control -z "$vg" >/dev/null
  local n
  n=$(load "$1")
  HOST=127.0.0.1 callgrind_control --dump="$2" "$vg" >/dev/null
  sleep 1
  local f
  f=$(ls -t "$out"/callgrind.out."$vg".* | head -1)
  mv "$f" "$out/callgrind.out.$2"
  echo "$n $(grep -m1 '^summary:' "$out/callgrind.out.$2" | awk '{print $2}')"
}
read -r n1 i1 < <(count "$short_s" short)
read -r n2 i2 < <(count "$long_s" long)
echo "short: $n1 requests, $i1 instructions; long: $n2 requests, $i2 instructions"
echo "instructions per request: $(( (i2 - i1) / (n2 - n1) ))"
