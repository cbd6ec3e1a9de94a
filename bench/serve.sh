#!/usr/bin/env bash
# Benchmarks `dq serve` (release build) on this machine:
#   1. GET /discord/events?limit=50&lease=0 with 50 events stored, wrk, 8 connections
#   2. GET /discord/health, wrk, 8 connections        (the Flask original: 750 and 1,880 req/s)
#   3. resident memory idle, after the load, and after 1,000 concurrent connections (wrk)
# Claim-and-ack throughput is bench/ack.sh's; idle CPU, the wake-up from a publish and
# connection limits are bench/idle.sh's.
# Needs: wrk (Debian package `wrk`), python3, curl. Installs nothing.
# Usage: bench/serve.sh [seconds per wrk run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in wrk python3 curl; do
    command -v "$tool" >/dev/null || { echo "bench/serve.sh needs $tool (apt-get install $tool)" >&2; exit 2; }
done
DURATION=${1:-10}
cargo build --release --locked --quiet
DQ=$PWD/target/release/dq
WORK=$(mktemp -d)
trap 'cat "$WORK/serve.err" >&2; kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export DQ_DB=$WORK/events.db DQ_TOKEN=bench-token-0123456789abcdef
unset DQ_NO_AUTH DQ_BIND
# Nor the developer's config file.
unset DQ_CONFIG
export XDG_CONFIG_HOME=$WORK/no-config

python3 -c 'import json
for n in range(50): print(json.dumps({"event_type": "custom", "payload": {"n": n, "text": "x" * 100}}))' \
    | "$DQ" publish batch >/dev/null

"$DQ" serve --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
URL=$(sed -n 's/^dq serve listening on //p' "$WORK/serve.out")
AUTH="Authorization: Bearer $DQ_TOKEN"
rss() { awk -v key="$1:" '$1 == key { printf "%.1f MiB", $2 / 1024 }' "/proc/$SERVE_PID/status"; }

sleep 1
echo "dq serve $("$DQ" --version | cut -d' ' -f2) at $URL on $(nproc) cores"
echo "idle RSS: $(rss VmRSS)"

rate() { awk '/Requests\/sec/ { print $2 }'; }
curl -fsS -H "$AUTH" "$URL/discord/events?limit=50&lease=0" | python3 -c 'import json,sys; assert json.load(sys.stdin)["count"] == 50'
EVENTS=$(wrk -t2 -c8 -d"${DURATION}s" -H "$AUTH" "$URL/discord/events?limit=50&lease=0" | rate)
echo "GET /discord/events?limit=50&lease=0 (50 events), wrk -t2 -c8 -d${DURATION}s: $EVENTS req/s (Flask: 750)"
HEALTH=$(wrk -t2 -c8 -d"${DURATION}s" "$URL/discord/health" | rate)
echo "GET /discord/health, wrk -t2 -c8 -d${DURATION}s: $HEALTH req/s (Flask: 1,880)"
echo "RSS after that load (peak): $(rss VmHWM)"

wrk -t2 -c1000 -d5s "$URL/discord/health" >"$WORK/wrk1000.txt" 2>&1 || true
echo "GET /discord/health, wrk -t2 -c1000 -d5s: $(rate <"$WORK/wrk1000.txt") req/s, $(grep -o 'Socket errors.*' "$WORK/wrk1000.txt" || echo 'no socket errors')"
echo "RSS peak after 1,000 connections: $(rss VmHWM); now: $(rss VmRSS)"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" && echo "SIGTERM: exit 0"
