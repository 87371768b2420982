#!/usr/bin/env bash
# `make test`: set up the MongoDB stand-in on a free port with throw-away
# storage, build, and run every test. Extra arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_system_packages
ensure_browser
ensure_venv
ensure_sdks
export AVENUE_TEST_SDK_DIR="$SDK_DIR"
port=$(free_port)
data=$(mktemp -d -t avenue-test-mongo.XXXXXX)
cleanup() {
  [ -n "${MONGO_PID:-}" ] && kill "$MONGO_PID" 2>/dev/null && wait "$MONGO_PID" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT
log "starting SecantusDB on 127.0.0.1:$port"
start_mongo "$port" "$data/db" "$data/mongo.log"

export AVENUE_TEST_MONGODB_URI="mongodb://127.0.0.1:$port/?directConnection=true"
# The crash tests run the real binaries, so build them first.
cargo build --workspace --bins
out="$data/cargo-test.out"
status=0
cargo test --workspace "$@" 2>&1 | tee "$out" || status=$?
# One closing line for the whole run: cargo prints a result per test binary,
# and the last of those (doc-tests) often ran nothing.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "summary: %d passed, %d failed\n", p, f }' "$out"
exit "$status"
