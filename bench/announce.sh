#!/usr/bin/env bash
# Benchmarks one `dq consume` delivering from many announced sources (issue 8):
#   SOURCES `dq serve` processes (default 50), each with its own database and generated token,
#   announce themselves to one consumer (`POST /sources`, as `dq serve --announce` does); each
#   database gets EVENTS events (default 20). Reports how long until the fake Discord
#   (examples/fake_discord.rs) has every event, and consume's resident memory and threads:
#   before any source, at its peak, and after the drain while it long-polls every source.
#   With DOWN > 0, that many more sources that never answer (closed ports on 127.0.0.1) are
#   announced too, to see what a full registry (up to 1,000 sources) costs.
#   With BY=serve, each serve announces itself (`dq serve --announce`) and is started with its
#   EVENTS already queued: the time is then from the first serve's start to the last delivery.
# Needs: cargo, python3, curl, Linux /proc. Installs nothing.
# Usage: [BY=curl|serve] bench/announce.sh [SOURCES] [EVENTS] [DOWN]
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCES=${1:-50}
EVENTS=${2:-20}
DOWN=${3:-0}
BY=${BY:-curl}
KEY=bench-announce-key-0123456789abcdef

cargo build --release --locked --quiet --bin dq --example fake_discord
DQ=$PWD/target/release/dq
FAKE=$PWD/target/release/examples/fake_discord
# shellcheck source=bench/lib.sh
. bench/lib.sh
# field NAME PID: a number from /proc/PID/status (VmRSS, VmHWM in KiB; Threads)
field() { awk -v name="$1:" '$1 == name { print $2 }' "/proc/$2/status"; }
mib() { python3 -c "print(f'{$1 / 1024:.1f}')"; }

start_fake "$WORK/fake.log"
WEBHOOK="$FAKE_URL/api/webhooks/1111/webhook-token"

port=$(free_port)
CONSUMER="http://127.0.0.1:$port"
"$DQ" consume --announce-key "$KEY" --allow-http-sources --listen "127.0.0.1:$port" \
    --webhook "$WEBHOOK" 2>"$WORK/consume.log" &
CONSUME_PID=$!
PIDS+=($CONSUME_PID)
wait_http "$CONSUMER/health"
base_rss=$(field VmRSS $CONSUME_PID)
base_threads=$(field Threads $CONSUME_PID)

publish() {
    python3 -c "
import json, sys
for i in range($EVENTS):
    print(json.dumps({'event_type': 'job_done', 'payload': {'source': $1, 'n': i}}))
" | "$DQ" --db "$WORK/source-$1.db" publish batch >/dev/null
}
if [ "$BY" = serve ]; then
    echo "== publishing $EVENTS events in each of $SOURCES databases"
    for n in $(seq 1 "$SOURCES"); do publish "$n"; done
fi

echo "== starting $SOURCES dq serve processes (announced by: $BY)"
URLS=()
PORTS=()
for n in $(seq 1 "$SOURCES"); do PORTS+=("$(free_port)"); done
start=$(date +%s.%N)
for n in $(seq 1 "$SOURCES"); do
    db="$WORK/source-$n.db"
    port=${PORTS[$((n - 1))]}
    announce=()
    if [ "$BY" = serve ]; then
        announce=(--announce "$CONSUMER" --announce-key "$KEY" --public-url "http://127.0.0.1:$port")
    fi
    CODESPACE_NAME=source-$n \
        "$DQ" --db "$db" serve --bind "127.0.0.1:$port" "${announce[@]}" >/dev/null 2>"$WORK/serve-$n.log" &
    PIDS+=($!)
    URLS+=("http://127.0.0.1:$port")
done
for n in $(seq 1 "$SOURCES"); do wait_http "${URLS[$((n - 1))]}/discord/health"; done

# Sample consume's memory and threads every 100 ms from here on.
(
    while kill -0 $CONSUME_PID 2>/dev/null; do
        echo "$(field VmRSS $CONSUME_PID) $(field Threads $CONSUME_PID)"
        sleep 0.1
    done
) >"$WORK/samples" 2>/dev/null &
SAMPLER=$!
PIDS+=($SAMPLER)

listed_count() {
    curl -fsS -H "Authorization: Bearer $KEY" "$CONSUMER/sources" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])'
}
if [ "$BY" = serve ]; then
    until [ "$(listed_count)" -ge "$SOURCES" ]; do sleep 0.05; done
else
    echo "== publishing $EVENTS events in each of them, then announcing them"
    for n in $(seq 1 "$SOURCES"); do publish "$n"; done
    start=$(date +%s.%N)
    for n in $(seq 1 "$SOURCES"); do
        token=$(cat "$WORK/source-$n.db.token")
        curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" \
            -d "{\"url\": \"${URLS[$((n - 1))]}\", \"token\": \"$token\", \"name\": \"source-$n\"}" \
            "$CONSUMER/sources"
    done
fi
announced=$(date +%s.%N)
for n in $(seq 1 "$DOWN"); do
    # Ports 1-1000 on 127.0.0.1: nothing listens there, so each of these only backs off.
    curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" \
        -d "{\"url\": \"http://127.0.0.1:$n\", \"token\": \"t$n\", \"name\": \"down-$n\"}" \
        "$CONSUMER/sources"
done
TOTAL=$((SOURCES * EVENTS))
count_delivered() {
    python3 -c '
import json, sys
total = 0
for line in open(sys.argv[1]):
    if line.startswith("{"):
        message = json.loads(line)
        if message["status"] == 200:
            total += len(message["values"])
print(total)' "$WORK/fake.log"
}
deadline=$(( $(date +%s) + 300 ))
until [ "$(count_delivered)" -ge "$TOTAL" ]; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
        echo "timed out: $(count_delivered) of $TOTAL delivered"
        tail -5 "$WORK/consume.log"
        exit 1
    fi
    sleep 0.1
done
drained=$(date +%s.%N)
# Let every worker settle into its long poll.
sleep 5
after_rss=$(field VmRSS $CONSUME_PID)
after_threads=$(field Threads $CONSUME_PID)
peak_hwm=$(field VmHWM $CONSUME_PID)
kill $SAMPLER 2>/dev/null || true
peak_rss=$(awk '{ print $1 }' "$WORK/samples" | sort -n | tail -1)
max_threads=$(awk '{ print $2 }' "$WORK/samples" | sort -n | tail -1)
listed=$(curl -fsS -H "Authorization: Bearer $KEY" "$CONSUMER/sources" \
    | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["count"], sum(s["delivered"] for s in d["sources"]))')

python3 - "$start" "$announced" "$drained" <<EOF
import sys
start, announced, drained = map(float, sys.argv[1:])
since = "the first serve started" if "$BY" == "serve" else "the first announcement"
print(f"announced {$SOURCES} sources in {announced - start:.2f} s; "
      f"all {$TOTAL} events delivered {drained - start:.2f} s after {since}")
EOF
echo "GET /sources: $listed (sources, events delivered)"
echo "consume before any source: RSS $(mib "$base_rss") MiB, $base_threads threads"
echo "consume at its peak:       RSS $(mib "$peak_rss") MiB (VmHWM $(mib "$peak_hwm") MiB), $max_threads threads"
echo "consume after the drain:   RSS $(mib "$after_rss") MiB, $after_threads threads (long-polling $SOURCES sources, $DOWN more down)"
python3 -c "print(f'per source: {($after_rss - $base_rss) / ($SOURCES + $DOWN):.0f} KiB resident, {($after_threads - $base_threads) / ($SOURCES + $DOWN):.2f} threads')"
errors=$(grep -c 'failed events\|could not record' "$WORK/consume.log" || true)
echo "consume log: $errors failed deliveries or unrecorded marks"
