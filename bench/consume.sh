#!/usr/bin/env bash
# Benchmarks `dq consume` against the tests' fake Discord (examples/fake_discord.rs):
#   1. latency from `dq publish` to the fake receiving the message, through `dq serve` and a
#      long-polling consume: median and p99 over 200 events published 50 ms apart
#      (target: median < 100 ms);
#   2. draining 1,000 events through a fake webhook that allows 5 requests per 2 s, against
#      the ideal of 40 s (target: within 10%, nothing lost, 429s < 1% of requests);
#   3. the peak resident memory of consume while draining (target: < 15 MiB).
# Needs: cargo, python3, Linux /proc. Installs nothing. Usage: bench/consume.sh [local]
#   (`local` drains from the database directly instead of through `dq serve`).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --quiet --bin dq --example fake_discord
DQ=$PWD/target/release/dq
FAKE=$PWD/target/release/examples/fake_discord
# shellcheck source=bench/lib.sh
. bench/lib.sh
export DQ_TOKEN=bench-token

# start_serve DB: sets SOURCE
start_serve() {
    local port
    port=$(free_port)
    "$DQ" --db "$1" serve --bind "127.0.0.1:$port" --token "$DQ_TOKEN" >"$WORK/serve.out" 2>"$WORK/serve.log" &
    PIDS+=($!)
    until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/discord/health')" 2>/dev/null; do
        sleep 0.05
    done
    SOURCE="http://127.0.0.1:$port"
}

has_serve() { "$DQ" serve --help >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
echo "== 1. latency: dq publish -> dq serve -> dq consume (long poll) -> fake Discord"
if has_serve; then
    DB=$WORK/latency.db
    "$DQ" --db "$DB" stats >/dev/null
    start_fake "$WORK/latency.log"
    start_serve "$DB"
    "$DQ" consume --source "$SOURCE" --webhook "$FAKE_URL/api/webhooks/1111/webhook-token" \
        --wait 25 2>"$WORK/consume-latency.log" &
    PIDS+=($!)
    sleep 1
    for i in $(seq 1 200); do
        "$DQ" --db "$DB" publish event bench --field "t=$i:$(date +%s%N)" >/dev/null
        sleep 0.05
    done
    for _ in $(seq 1 200); do
        [ "$(grep -c '"status":200' "$WORK/latency.log")" -ge 200 ] && break
        sleep 0.1
    done
    latency_summary "$WORK/latency.log" 200
else
    echo "skipped: this dq has no serve subcommand"
fi

# ---------------------------------------------------------------------------------------------
MODE=${1:-serve}
if [ "$MODE" != local ] && ! has_serve; then MODE=local; fi
echo
echo "== 2. drain 1000 events through a webhook allowing 5 requests per 2 s ($MODE source)"
DB=$WORK/drain.db
python3 -c '
import json
for i in range(1000):
    print(json.dumps({"event_type": "bench", "payload": {"n": i}}))
' | "$DQ" --db "$DB" publish batch >/dev/null
start_fake "$WORK/drain.log" 5/2
SOURCE_ARGS=()
if [ "$MODE" = serve ]; then
    start_serve "$DB"
    SOURCE_ARGS=(--source "$SOURCE")
fi
START=$(date +%s%N)
"$DQ" --db "$DB" consume --once "${SOURCE_ARGS[@]}" \
    --webhook "$FAKE_URL/api/webhooks/1111/webhook-token" 2>"$WORK/consume-drain.log" &
CONSUMER=$!
PEAK=0
while kill -0 "$CONSUMER" 2>/dev/null; do
    RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$CONSUMER/status" 2>/dev/null || echo 0)
    [ -n "$RSS" ] && [ "$RSS" -gt "$PEAK" ] && PEAK=$RSS
    sleep 0.1
done
wait "$CONSUMER" && STATUS=0 || STATUS=$?
END=$(date +%s%N)
sleep 0.2
tail -n 1 "$WORK/consume-drain.log"
python3 - "$WORK/drain.log" "$START" "$END" "$STATUS" "$PEAK" <<'PY'
import json, sys
log, start, end, status, peak = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
requests = [json.loads(line) for line in open(log) if line.startswith("{")]
delivered = [value for r in requests if r["status"] == 200 for value in r["values"]]
limited = sum(1 for r in requests if r["status"] == 429)
seconds = (end - start) / 1e9
unique = len(set(delivered))
print(f"consume exit status: {status}")
print(f"time: {seconds:.1f} s vs ideal 40 s ({(seconds / 40 - 1) * 100:+.1f}%)")
print(f"messages: {sum(1 for r in requests if r['status'] == 200)}, events delivered: {len(delivered)}, distinct: {unique}, lost: {1000 - unique}")
print(f"429 answers: {limited} of {len(requests)} requests ({limited / max(1, len(requests)) * 100:.2f}%)")
print(f"peak RSS of consume: {peak / 1024:.1f} MiB")
PY
"$DQ" --db "$DB" stats --json
