#!/usr/bin/env bash
# Builds the Docker image with podman (no Docker engine here) and checks it for real: the
# container reports healthy, answers a chat request against the fake upstream, and stops
# cleanly (exit 0) on SIGTERM. Never skips: if podman cannot run, this fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$root"
export CONTAINERS_CONF="$root/scripts/containers.conf"
image=localhost/z-ai-proxy:test
base=docker.io/library/debian:bookworm
cache=/var/cache/z-ai-proxy

# No registry is reachable: make the base image with debootstrap once and keep it outside
# the repository.
if ! podman image exists "$base"; then
  as_root mkdir -p "$cache"
  if [ ! -s "$cache/bookworm-minbase.tar" ]; then
    tmp=$(mktemp -d)
    as_root debootstrap --variant=minbase bookworm "$tmp/rootfs" http://deb.debian.org/debian >/dev/null
    as_root tar -C "$tmp/rootfs" -cf "$cache/bookworm-minbase.tar" .
    as_root rm -rf "$tmp"
  fi
  podman import "$cache/bookworm-minbase.tar" "$base" >/dev/null
fi

podman build --format docker --pull=never -t "$image" . >/tmp/zproxy-podman-build.log 2>&1 ||
  { tail -40 /tmp/zproxy-podman-build.log; exit 1; }
echo "image: $(podman image inspect "$image" --format '{{.Size}}') bytes"
podman image inspect "$image" --format '{{json .Config.Healthcheck}}' | grep -q healthcheck ||
  { echo "image lost its HEALTHCHECK"; exit 1; }

fake_log=$(mktemp)
node tests/fake-upstream/server.mjs >"$fake_log" 2>&1 &
fake_pid=$!
ctr=""
cleanup() {
  [ -n "$ctr" ] && podman rm -f "$ctr" >/dev/null 2>&1 || true
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do grep -q '"port"' "$fake_log" && break; sleep 0.1; done
fake_port=$(grep -o '"port": *[0-9]*' "$fake_log" | head -1 | grep -o '[0-9]*$')
[ -n "$fake_port" ] || { echo "fake upstream did not start"; cat "$fake_log"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

ctr=$(podman run -d --network host -e PORT="$port" -e API_KEY=sk-container-test \
  -e ZAI_BASE_URL="http://127.0.0.1:$fake_port" -e TOKEN_POOL_SIZE=2 \
  --health-interval 2s "$image")

status=""
for _ in $(seq 1 120); do
  podman healthcheck run "$ctr" >/dev/null 2>&1 || true
  status=$(podman inspect "$ctr" --format '{{.State.Health.Status}}' 2>/dev/null || true)
  [ "$status" = healthy ] && break
  sleep 0.5
done
echo "health: $status"
[ "$status" = healthy ] || { podman logs "$ctr" | tail -20; exit 1; }

answer=$(curl -sS --max-time 60 "http://127.0.0.1:$port/v1/chat/completions" \
  -H 'Authorization: Bearer sk-container-test' -H 'Content-Type: application/json' \
  -d '{"model":"glm-4.6","messages":[{"role":"user","content":"Hello"}]}')
echo "answer: $answer"
echo "$answer" | grep -q '"object":"chat.completion"' || { podman logs "$ctr" | tail -20; exit 1; }

podman stop -t 10 "$ctr" >/dev/null
code=$(podman inspect "$ctr" --format '{{.State.ExitCode}}')
echo "exit code after SIGTERM: $code"
[ "$code" = 0 ]
