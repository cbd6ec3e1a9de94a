#!/usr/bin/env bash
# Claim-and-ack throughput of `dq serve` (release build) from one client: one keep-alive
# connection (Python's http.client), each request waiting for the last, with a backlog of
# 100,000 pending events:
#   1. batches of 10: POST /discord/events/claim?limit=10, then one POST /discord/events/ack
#      with the 10 (the issue's target: 10,000 events/s);
#   2. one event per cycle, as consume did before: claim limit=1, POST /discord/events/{id}/processed
#      (the issue measured 1,091 cycles/s for this before acks were durable);
#   3. batches of 100;
# and the floor every durable acknowledgement pays: one write + fdatasync of 4 KiB on the
# same filesystem, timed from Python.
# Needs: python3. Installs nothing.
# Usage: bench/ack.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10}
cargo build --release --locked --quiet
DQ=$PWD/target/release/dq
WORK=$(mktemp -d "$PWD/target/bench-ack.XXXXXX")
SERVE_PID=
trap 'if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
export DQ_DB=$WORK/events.db DQ_TOKEN=bench-token-0123456789abcdef
unset DQ_NO_AUTH DQ_BIND

python3 -c 'import json
for n in range(100000): print(json.dumps({"event_type": "cycle", "payload": {"n": n}}))' \
    | "$DQ" publish batch >/dev/null
"$DQ" serve --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
URL=$(sed -n 's/^dq serve listening on //p' "$WORK/serve.out")
echo "dq serve $("$DQ" --version | cut -d' ' -f2) at $URL on $(nproc) cores, database in $WORK"

python3 - "$URL" "$DURATION" "$WORK" <<'PY'
import http.client, json, os, statistics, sys, time, urllib.parse
url, duration, work = urllib.parse.urlparse(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
auth = {"Authorization": "Bearer " + os.environ["DQ_TOKEN"]}
conn = http.client.HTTPConnection(url.hostname, url.port)

def call(method, path, body=None):
    conn.request(method, path, body=body, headers=auth)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    assert answer.status == 200, (answer.status, data)
    return data

def batches(size):
    done, cycles, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < duration:
        events = call("POST", f"/discord/events/claim?limit={size}&lease=60")["events"]
        acks = [{"id": event["id"], "status": "processed"} for event in events]
        results = call("POST", "/discord/events/ack", json.dumps({"events": acks}))["results"]
        done += sum(result["status"] == "processed" for result in results)
        cycles += 1
    elapsed = time.perf_counter() - start
    return done / elapsed, cycles / elapsed

def singles():
    cycles, start = 0, time.perf_counter()
    while time.perf_counter() - start < duration:
        event = call("POST", "/discord/events/claim?limit=1&lease=60")["events"][0]
        call("POST", f"/discord/events/{event['id']}/processed")
        cycles += 1
    return cycles / (time.perf_counter() - start)

events, cycles = batches(10)
print(f"batches of 10 (claim 10, ack 10 in one request): {events:,.0f} events/s ({cycles:,.0f} cycles/s)")
rate = singles()
print(f"one event per cycle (claim 1, POST /discord/events/{{id}}/processed): {rate:,.0f} cycles/s (issue, before durable acks: 1,091)")
events, cycles = batches(100)
print(f"batches of 100: {events:,.0f} events/s ({cycles:,.0f} cycles/s)")

probe = os.path.join(work, "fsync-probe")
fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
times = []
for n in range(200):
    start = time.perf_counter()
    os.pwrite(fd, b"x" * 4096, (n % 16) * 4096)
    os.fdatasync(fd)
    times.append((time.perf_counter() - start) * 1000)
os.close(fd)
os.unlink(probe)
floor = statistics.median(times)
print(f"floor: write + fdatasync of 4 KiB on this filesystem: median {floor:.2f} ms, "
      f"so at most {1000 / floor:,.0f} durable commits/s from one client")
PY
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" && echo "SIGTERM: exit 0"
SERVE_PID=
