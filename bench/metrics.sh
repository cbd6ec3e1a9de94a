#!/usr/bin/env bash
# `promtool check metrics` on what dq exposes, after real deliveries: `dq serve`'s
# `/discord/metrics` and `dq consume --listen`'s `/metrics`, with events delivered through the
# tests' fake Discord (examples/fake_discord.rs), some of them created an hour before. Prints
# promtool's verdict for each and the delivery figures people alert on:
# dq_oldest_due_age_seconds, dq_last_delivery_timestamp_seconds, dq_delivery_latency_seconds.
# CI has no promtool; tests/metrics.rs checks the same rules in Rust.
#
# Needs: promtool (Debian package `prometheus`), python3, curl, sqlite3. Installs nothing.
# Usage: bench/metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in promtool python3 curl sqlite3; do
    command -v "$tool" >/dev/null || { echo "bench/metrics.sh needs $tool" >&2; exit 2; }
done
cargo build --release --locked --quiet --bin dq --example fake_discord
DQ=$PWD/target/release/dq
FAKE=$PWD/target/release/examples/fake_discord
# WORK, PIDS (killed on exit), free_port, start_fake; the developer's config file kept out.
source bench/lib.sh
unset DQ_DB DQ_NO_AUTH DQ_BIND DQ_SOURCES DISCORD_WEBHOOK_URL DISCORD_BOT_TOKEN
export DQ_TOKEN=bench-token-0123456789abcdef
AUTH="Authorization: Bearer $DQ_TOKEN"

wait_for() { for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

DB=$WORK/events.db
python3 -c 'import json
for n in range(30): print(json.dumps({"event_type": "custom", "payload": {"n": n}}))' \
    | "$DQ" --db "$DB" publish batch >/dev/null
# A third of them an hour old, as if a consumer had slept.
sqlite3 "$DB" ".timeout 5000" \
    "UPDATE events SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour') WHERE id <= 10;"

start_fake "$WORK/fake.log"
serve_port=$(free_port)
"$DQ" --db "$DB" serve --bind "127.0.0.1:$serve_port" >"$WORK/serve.out" 2>"$WORK/serve.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$serve_port/discord/health"
listen_port=$(free_port)
"$DQ" consume --source "http://127.0.0.1:$serve_port" \
    --webhook "$FAKE_URL/api/webhooks/1111/webhook-token" \
    --listen "127.0.0.1:$listen_port" --wait 5 2>"$WORK/consume.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$listen_port/health"
for _ in $(seq 300); do
    processed=$("$DQ" --db "$DB" stats --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["processed"])')
    [ "$processed" -ge 30 ] && break
    sleep 0.1
done
echo "delivered: $processed of 30"

status=0
# check NAME URL: promtool's verdict and the delivery figures.
check() {
    curl -fsS -H "$AUTH" "$2" >"$WORK/$1.prom"
    if promtool check metrics <"$WORK/$1.prom" >"$WORK/$1.promtool" 2>&1; then
        echo "$1: promtool check metrics: clean ($(grep -vc '^#' "$WORK/$1.prom") samples)"
    else
        echo "$1: promtool check metrics found problems:"
        sed 's/^/    /' "$WORK/$1.promtool"
        status=1
    fi
    grep -E '^dq_(oldest_due_age_seconds|last_delivery_timestamp_seconds|delivery_latency_seconds_(count|sum)|delivery_latency_seconds_bucket\{le="(1|3600|10800)"\})' \
        "$WORK/$1.prom" | sed 's/^/    /' || echo "    (no delivery figures)"
}
check consume "http://127.0.0.1:$listen_port/metrics"
# With consume gone, one more event stays due: the oldest due age is its age.
kill -TERM "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null || true
"$DQ" --db "$DB" publish event custom >/dev/null
sleep 1
check serve "http://127.0.0.1:$serve_port/discord/metrics"
exit "$status"
