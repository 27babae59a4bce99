#!/usr/bin/env bash
# Sets up a Debian 12 machine (idempotently), builds the native server and runs it.
# Settings come from the environment (see README); e.g. PORT=3000 UPSTREAM_MODE=api ...
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$root/scripts/build-native.sh"
exec "$root/build/z-ai-proxy" "$@"
