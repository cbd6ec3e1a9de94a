#!/usr/bin/env bash
# Benchmarks what a waiting `dq consume` costs (issue 11, "waiting costs nothing"):
#   1. local mode (the database directly) with nothing to deliver: CPU ticks (utime + stime
#      from /proc/PID/stat) and wake-ups (voluntary context switches of all its threads) over
#      SECONDS (default 30);
#   2. the same with --announce-key and one announced `dq serve` source, long-polling it;
#   3. local mode's delay from `dq publish` (another process) to the fake Discord: median and
#      p99 over 100 publishes 50 ms apart.
# Needs: cargo, python3, curl, Linux /proc. Usage: bench/consume_idle.sh [SECONDS]
#   DQ=/path/to/dq bench/consume_idle.sh measures another build (an older one, to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_IDLE=${1:-30}
KEY=bench-idle-key-0123456789abcdef

cargo build --release --locked --quiet --bin dq --example fake_discord
DQ=${DQ:-$PWD/target/release/dq}
FAKE=$PWD/target/release/examples/fake_discord
# shellcheck source=bench/lib.sh
. bench/lib.sh
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wakeups() {
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n }'
}
# idle NAME PID: ticks and wake-ups of PID over SECONDS_IDLE
idle() {
    sleep 2
    local t0 w0 t1 w1
    t0=$(ticks "$2"); w0=$(wakeups "$2")
    sleep "$SECONDS_IDLE"
    t1=$(ticks "$2"); w1=$(wakeups "$2")
    echo "$1: $((t1 - t0)) ticks ($(python3 -c "print(f'{($t1 - $t0) / ($SECONDS_IDLE * 100) * 100:.2f}')")% of a core), $((w1 - w0)) wake-ups in ${SECONDS_IDLE} s"
}

start_fake "$WORK/fake.log"
WEBHOOK="$FAKE_URL/api/webhooks/1111/webhook-token"

echo "== 1. local mode, nothing to deliver"
DB=$WORK/local.db
"$DQ" --db "$DB" stats >/dev/null
"$DQ" --db "$DB" consume --webhook "$WEBHOOK" 2>"$WORK/consume-local.log" &
LOCAL=$!
PIDS+=($LOCAL)
idle "consume (local)" $LOCAL

echo "== 2. one announced source, long-polled"
SOURCE_DB=$WORK/source.db
port=$(free_port)
"$DQ" --db "$SOURCE_DB" serve --bind "127.0.0.1:$port" >/dev/null 2>"$WORK/serve.log" &
PIDS+=($!)
SOURCE="http://127.0.0.1:$port"
wait_http "$SOURCE/discord/health"
port=$(free_port)
"$DQ" consume --announce-key "$KEY" --allow-http-sources --listen "127.0.0.1:$port" \
    --webhook "$WEBHOOK" 2>"$WORK/consume-announced.log" &
ANNOUNCED=$!
PIDS+=($ANNOUNCED)
wait_http "http://127.0.0.1:$port/health"
curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" \
    -d "{\"url\": \"$SOURCE\", \"token\": \"$(cat "$SOURCE_DB.token")\", \"name\": \"bench\"}" \
    "http://127.0.0.1:$port/sources"
idle "consume (1 announced source)" $ANNOUNCED

echo "== 3. local mode: dq publish -> fake Discord"
for i in $(seq 1 100); do
    "$DQ" --db "$DB" publish event bench --field "t=$i:$(date +%s%N)" >/dev/null
    sleep 0.05
done
for _ in $(seq 1 100); do
    [ "$(grep -c '"status":200' "$WORK/fake.log")" -ge 100 ] && break
    sleep 0.1
done
latency_summary "$WORK/fake.log" 100
