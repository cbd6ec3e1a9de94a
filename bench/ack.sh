#!/usr/bin/env bash
# Claim-and-ack throughput of `dq serve` (release build) from one consumer: one keep-alive
# connection, each request waiting for the last, in these modes:
#   10      claim 10 (POST /discord/events/claim?limit=10&lease=60), then one
#           POST /discord/events/ack with the 10 (the issue's target: 10,000 events/s);
#   1       the same with batches of 1;
#   single  claim 1, then POST /discord/events/{id}/processed, as consume did before the
#           batch route (the issue measured 1,091 cycles/s for this before acks were durable);
#   100     batches of 100;
# each with two clients: Python's http.client (about 0.2 ms of its own per request) and
# examples/ack_client.rs (dq consume's own client code, ureq; a few microseconds), each run on
# a fresh copy of a database holding BACKLOG pending events (enough that no run empties it: a
# run that does fails), the load average printed before and after each run (2 cores are shared
# here: judge a figure with it), and serve's CPU time per cycle (utime + stime from
# /proc/PID/stat: what serve spends, whatever the client and the other processes do). Then the floor every durable acknowledgement pays: one write +
# fdatasync of 4 KiB on the same filesystem, timed from Python.
# Needs: python3, Linux /proc, getconf. Installs nothing.
# Usage: bench/ack.sh [seconds per run, default 10] [modes, default "10 1 single 100"]
#        BACKLOG=events (default 60,000 per second of a run)
#        DQ=path/to/another/dq (a build to compare with; default: this tree's release build)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10}
MODES=${2:-10 1 single 100}
BACKLOG=${BACKLOG:-$((DURATION * 60000))}
cargo build --release --locked --quiet --bin dq --example ack_client
DQ=${DQ:-$PWD/target/release/dq}
CLIENT=$PWD/target/release/examples/ack_client
WORK=$(mktemp -d "$PWD/target/bench-ack.XXXXXX")
SERVE_PID=
stop_serve() {
    if [ -n "$SERVE_PID" ]; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
        SERVE_PID=
    fi
}
trap 'stop_serve; rm -rf "$WORK"' EXIT
unset DQ_CONFIG DQ_NO_AUTH DQ_BIND
export XDG_CONFIG_HOME=$WORK/no-config DQ_TOKEN=bench-token-0123456789abcdef

DQ_DB=$WORK/backlog.db python3 -c "import json, sys
for n in range($BACKLOG): sys.stdout.write(json.dumps({'event_type': 'cycle', 'payload': {'n': n}}) + '\n')" \
    | DQ_DB=$WORK/backlog.db "$DQ" publish batch >/dev/null
sync "$WORK"/backlog.db*
echo "dq serve $("$DQ" --version | cut -d' ' -f2) on $(nproc) cores, $BACKLOG events pending at the start of each ${DURATION} s run"

# start_serve: a fresh copy of the backlog, a serve on a free port; sets URL
start_serve() {
    rm -f "$WORK"/run.db*
    # With its log, if the publish left one; synced, so that writing the copy back does not
    # compete with the run's own syncs (the first runs measured that, not serve).
    for file in "$WORK"/backlog.db*; do cp "$file" "${file/backlog.db/run.db}"; done
    sync "$WORK"/run.db*
    DQ_DB=$WORK/run.db "$DQ" serve --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVE_PID=$!
    for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
    URL=$(sed -n 's/^dq serve listening on //p' "$WORK/serve.out")
    [ -n "$URL" ] || { cat "$WORK/serve.err" >&2; exit 1; }
}

load() { cut -d' ' -f1 /proc/loadavg; }
# serve's CPU so far (utime + stime), in clock ticks
ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }

for MODE in $MODES; do
    for KIND in python rust; do
        start_serve
        BEFORE=$(load)
        TICKS=$(ticks)
        if [ "$KIND" = rust ]; then
            LINE=$("$CLIENT" "$URL" "$DURATION" "$MODE")
        else
            LINE=$(python3 - "$URL" "$DURATION" "$MODE" <<'PY'
import http.client, json, os, statistics, sys, time, urllib.parse
url, duration, mode = urllib.parse.urlparse(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
auth = {"Authorization": "Bearer " + os.environ["DQ_TOKEN"]}
conn = http.client.HTTPConnection(url.hostname, url.port)

def call(method, path, body=None):
    conn.request(method, path, body=body, headers=auth)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    assert answer.status == 200, (answer.status, data)
    return data

size = 1 if mode == "single" else int(mode)
done, cycles, claims, acks = 0, 0, [], []
start = time.perf_counter()
while time.perf_counter() - start < duration:
    asked = time.perf_counter()
    events = call("POST", f"/discord/events/claim?limit={size}&lease=60")["events"]
    claimed = time.perf_counter()
    assert events, f"the backlog ran out after {done} events"
    if mode == "single":
        call("POST", f"/discord/events/{events[0]['id']}/processed")
        done += 1
    else:
        body = json.dumps({"events": [{"id": event["id"], "status": "processed"} for event in events]})
        results = call("POST", "/discord/events/ack", body)["results"]
        done += sum(result["status"] == "processed" for result in results)
    acked = time.perf_counter()
    claims.append(claimed - asked)
    acks.append(acked - claimed)
    cycles += 1
elapsed = time.perf_counter() - start

def ms(times, share):
    times = sorted(times)
    return f"{times[round((len(times) - 1) * share)] * 1000:.2f} ms"

what = ("one event per cycle (claim 1, POST /discord/events/{id}/processed)" if mode == "single"
        else f"batches of {mode} (claim {mode}, ack {mode} in one request)")
print(f"{what}: {done / elapsed:,.0f} events/s ({cycles / elapsed:,.0f} cycles/s); "
      f"claim median {ms(claims, 0.5)} p99 {ms(claims, 0.99)}, ack median {ms(acks, 0.5)} p99 {ms(acks, 0.99)}")
PY
)
        fi
        TICKS=$(( $(ticks) - TICKS ))
        CYCLES=$(echo "$LINE" | sed -n 's/.*(\([0-9,]*\) cycles\/s).*/\1/p' | tr -d ,)
        CPU=$(awk -v ticks="$TICKS" -v hz="$(getconf CLK_TCK)" -v cycles="$CYCLES" -v seconds="$DURATION" \
            'BEGIN { printf "%.0f", ticks / hz * 1e6 / (cycles * seconds) }')
        echo "$KIND, load $BEFORE -> $(load): $LINE; serve CPU ${CPU} us per cycle"
        stop_serve
    done
done

python3 - "$WORK" <<'PY'
import os, statistics, sys, time
probe = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
times = []
for n in range(200):
    start = time.perf_counter()
    os.pwrite(fd, b"x" * 4096, (n % 16) * 4096)
    os.fdatasync(fd)
    times.append((time.perf_counter() - start) * 1000)
os.close(fd)
floor = statistics.median(times)
print(f"floor: write + fdatasync of 4 KiB on this filesystem: median {floor:.2f} ms, "
      f"so at most {1000 / floor:,.0f} durable commits/s from one client")
PY
