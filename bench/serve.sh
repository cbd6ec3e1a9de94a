#!/usr/bin/env bash
# Benchmarks `dq serve` (release build) on this machine:
#   1. GET /discord/events?limit=50&lease=0 with 50 events stored, wrk, 8 connections
#   2. GET /discord/health, wrk, 8 connections        (the Flask original: 750 and 1,880 req/s)
#   3. claim-and-ack cycles per second from one client (wrk, 1 connection, Lua script; batches:
#      bench/ack.sh; idle CPU, wake-up and connection limits: bench/idle.sh)
#   4. wake-up delay from `dq publish` (another process) to a waiting long poll: median, p99
#   5. resident memory idle, after the load, and after 1,000 concurrent connections
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

# An empty queue for the wake-up test: deliver the 50 events, delete them.
python3 - "$DQ" "$URL" <<'PY'
import datetime, http.client, json, os, statistics, subprocess, sys, threading, time, urllib.parse
dq, url = sys.argv[1], urllib.parse.urlparse(sys.argv[2])
auth = {"Authorization": "Bearer " + os.environ["DQ_TOKEN"]}
drain = http.client.HTTPConnection(url.hostname, url.port)
while True:
    drain.request("POST", "/discord/events/claim?limit=100&lease=60", headers=auth)
    events = json.loads(drain.getresponse().read())["events"]
    if not events:
        break
    for event in events:
        drain.request("POST", f"/discord/events/{event['id']}/processed", headers=auth)
        drain.getresponse().read()
drain.request("POST", "/discord/cleanup?days=0", headers=auth)
drain.getresponse().read()
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
from_commit, from_spawn = [], []
for n in range(200):
    result = {}
    def poll():
        conn.request("POST", "/discord/events/claim?wait=30&limit=1&lease=60", headers=auth)
        body = json.loads(conn.getresponse().read())
        result["at"] = time.time()
        result["body"] = body
    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.05)  # let the poll park
    spawned = time.time()
    subprocess.run([dq, "publish", "event", "wake", "--field", f"n={n}"], check=True, stdout=subprocess.DEVNULL)
    waiter.join()
    event = result["body"]["events"][0]
    created = datetime.datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()
    from_commit.append((result["at"] - created) * 1000)
    from_spawn.append((result["at"] - spawned) * 1000)
    conn.request("POST", f"/discord/events/{event['id']}/processed", headers=auth)
    conn.getresponse().read()
def p99(values):
    return sorted(values)[int(len(values) * 0.99) - 1]
print(f"wake-up delay over 200 publishes, from the event's created_at (publish's clock) to the poll's answer: "
      f"median {statistics.median(from_commit):.1f} ms, p99 {p99(from_commit):.1f} ms")
print(f"  from spawning `dq publish` (process start + durable commit included): "
      f"median {statistics.median(from_spawn):.1f} ms, p99 {p99(from_spawn):.1f} ms")
PY

# Claim one, mark it processed, repeat: one connection, so each cycle waits for the last;
# with a backlog of 100,000 pending events.
python3 -c 'import json
for n in range(100000): print(json.dumps({"event_type": "cycle", "payload": {"n": n}}))' \
    | "$DQ" publish batch >/dev/null
cat >"$WORK/cycle.lua" <<'LUA'
local auth = "Bearer " .. os.getenv("DQ_TOKEN")
local next_id = nil
request = function()
  if next_id then
    local path = "/discord/events/" .. next_id .. "/processed"
    next_id = nil
    return wrk.format("POST", path, { ["Authorization"] = auth, ["Content-Length"] = "0" })
  end
  return wrk.format("POST", "/discord/events/claim?limit=1&lease=60", { ["Authorization"] = auth, ["Content-Length"] = "0" })
end
response = function(status, headers, body)
  next_id = body:match('"id":(%d+)')
end
LUA
BEFORE=$("$DQ" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["processed"])')
START=$(date +%s.%N)
wrk -t1 -c1 -d"${DURATION}s" -s "$WORK/cycle.lua" "$URL" >/dev/null
END=$(date +%s.%N)
AFTER=$("$DQ" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["processed"])')
python3 -c "print(f'claim-and-ack cycles from one client (POST claim limit=1 lease=60, POST processed): {($AFTER - $BEFORE) / ($END - $START):.0f} cycles/s')"
wrk -t2 -c1000 -d5s "$URL/discord/health" >"$WORK/wrk1000.txt" 2>&1 || true
echo "GET /discord/health, wrk -t2 -c1000 -d5s: $(rate <"$WORK/wrk1000.txt") req/s, $(grep -o 'Socket errors.*' "$WORK/wrk1000.txt" || echo 'no socket errors')"
echo "RSS peak after 1,000 connections: $(rss VmHWM); now: $(rss VmRSS)"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" && echo "SIGTERM: exit 0"
