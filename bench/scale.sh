#!/usr/bin/env bash
# What a large table costs: with EVENTS (default 1,000,000) events stored,
#   1. the peak resident memory and time of one `dq publish batch` of all of them,
#   2. how long `dq stats` and `dq stats --json` take (hyperfine),
#   3. how long `GET /discord/stats` and `GET /discord/metrics` take (curl, new connection each),
#   4. serve's resident memory idle, after one scrape, and after every worker has scraped,
#   5. with the oldest tenth dead-lettered (a webhook deleted for a week) before the processed
#      history and the newest 10,000 due: a claim (POST /discord/events/claim?lease=60),
#      GET /discord/failed?limit=50 and dq stats, and the same reads in one process
#      (examples/queue_bench.rs: built with dq, or QUEUE_BENCH names one built elsewhere),
#   6. how long opening the file takes when it must build migration 6's index (idx_ready),
#      with that shape and with every event pending (only for a build that has it).
# The table is shaped like a long-lived queue: all but the newest 10,000 events processed; of
# those, 1,000 dead-lettered, 500 leased, 500 waiting out a backoff, the rest due.
#
# Needs: bash 5, awk, python3, curl, wrk, hyperfine, sqlite3 and GNU time (/usr/bin/time -v).
# Installs nothing. Builds dq in release mode unless DQ_BIN names a binary (so the same script
# measures another build, for example DQ_BIN=/work/main/target/release/dq; QUEUE_BENCH=path adds
# that build's examples/queue_bench to it).
#
# Usage: bench/scale.sh [EVENTS (default 1000000)]
set -euo pipefail
cd "$(dirname "$0")/.."

events=${1:-1000000}
for tool in awk python3 curl wrk hyperfine sqlite3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/scale.sh needs $tool" >&2; exit 2; }
done
queue_bench=${QUEUE_BENCH:-}
if [[ -z "${DQ_BIN:-}" ]]; then
    cargo build --release --locked --quiet --bin dq --example queue_bench
    DQ_BIN=$PWD/target/release/dq
    queue_bench=$PWD/target/release/examples/queue_bench
fi

work=$(mktemp -d)
serve_pid=
cleanup() {
    if [[ -n "$serve_pid" ]]; then
        kill "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# Keep the developer's settings out of the measurement.
unset DQ_DB DISCORD_USER_ID CODESPACE_NAME DQ_MAX_ATTEMPTS DQ_BUSY_TIMEOUT_MS DQ_NO_AUTH DQ_BIND \
    DQ_WORKERS DQ_CONFIG
export DQ_TOKEN=bench-token-0123456789abcdef
db=$work/events.db

echo "dq $("$DQ_BIN" --version | cut -d' ' -f2) ($DQ_BIN), $events events, $(nproc) cores"

# 1. One batch of every event: peak RSS from GNU time.
awk -v n="$events" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"event_type\":\"backup_success\",\"payload\":{\"backup_file\":\"backup-%d.tar.gz\",\"size_mb\":512.5,\"duration_seconds\":42}}\n", i }' >"$work/batch.ndjson"
/usr/bin/time -v "$DQ_BIN" --db "$db" publish batch <"$work/batch.ndjson" >/dev/null 2>"$work/time.txt"
peak_kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/time.txt")
stored=$(sqlite3 "$db" "SELECT COUNT(*) FROM events")
echo "publish batch of $stored events: peak RSS $(awk -v k="$peak_kib" 'BEGIN { printf "%.1f", k / 1024 }') MiB, wall $wall ($(python3 -c "
h, m, s = ('0:0:' + '$wall').split(':')[-3:]
print(f'{$stored / (int(h) * 3600 + int(m) * 60 + float(s)):.0f}')") events/s)"
rm "$work/batch.ndjson"

# Shape the table (through sqlite3, as any other writer of the file would).
now_ms=$(( $(date +%s) * 1000 ))
hour_ms=3600000
sqlite3 "$db" <<SQL
.timeout 5000
BEGIN;
UPDATE events SET processed = 1, attempts = 0, last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id <= $events - 10000;
UPDATE events SET attempts = 3, last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
    error_message = '403: Cannot send messages to this user'
    WHERE id > $events - 10000 AND id <= $events - 9000;
UPDATE events SET lease_until_ms = $now_ms + $hour_ms WHERE id > $events - 9000 AND id <= $events - 8500;
UPDATE events SET attempts = 1, next_attempt_ms = $now_ms + $hour_ms, error_message = 'HTTP 502'
    WHERE id > $events - 8500 AND id <= $events - 8000;
COMMIT;
SQL
"$DQ_BIN" --db "$db" stats

# 2. dq stats, warm (the file in the page cache, as on a machine that uses it).
hyperfine -N --warmup 2 --runs 10 --export-json "$work/stats.json" \
    "$DQ_BIN --db $db stats" "$DQ_BIN --db $db stats --json" >/dev/null
python3 - "$work/stats.json" <<'PY'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    command = result["command"].split(" --db ")[0].rsplit("/", 1)[-1] + " " + result["command"].split(" ", 3)[-1]
    print(f"{command}: median {result['median'] * 1000:.1f} ms, "
          f"min {result['min'] * 1000:.1f} ms, max {result['max'] * 1000:.1f} ms over {len(result['times'])} runs")
PY

# 3. and 4. serve on the same file.
"$DQ_BIN" --db "$db" serve --bind 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 200); do [[ -s "$work/serve.out" ]] && break; sleep 0.05; done
url=$(sed -n 's/^dq serve listening on //p' "$work/serve.out")
[[ -n "$url" ]] || { cat "$work/serve.err" >&2; exit 1; }
rss() { awk -v key="$1:" '$1 == key { printf "%.1f MiB", $2 / 1024 }' "/proc/$serve_pid/status"; }
sleep 1
echo "serve idle: RSS $(rss VmRSS)"
auth="Authorization: Bearer $DQ_TOKEN"
curl -fsS -H "$auth" "$url/discord/metrics" >/dev/null
echo "serve after one scrape: RSS $(rss VmRSS)"
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
# latency LABEL ROUTE [METHOD]: median and max of 20 requests, each on a new connection.
latency() {
    local method=${3:-GET}
    : >"$work/times"
    for _ in $(seq 20); do
        curl -fsS -X "$method" -o /dev/null -w '%{time_total}\n' -H "$auth" "$url/discord/$2" >>"$work/times"
    done
    sort -n "$work/times" | awk -v label="$1" -v route="$2" -v method="$method" -v load="$(load_average)" '{ v[NR] = $1 * 1000 }
        END { printf "%s%s /discord/%s: median %.1f ms, max %.1f ms over %d requests (load %s)\n", label, method, route, (v[10] + v[11]) / 2, v[NR], NR, load }'
}
latency "" stats
latency "" metrics
# Every worker (8 by default) has its own connection and so its own cache: fill them all.
load() {
    wrk -t2 -c8 -d5s -H "$auth" "$url/discord/$1" >"$work/wrk.txt"
    echo "GET /discord/$1, wrk -t2 -c8 -d5s: $(awk '/Requests\/sec/ { print $2 }' "$work/wrk.txt") req/s"
}
threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$serve_pid/status"; }
load metrics
load stats
load "events?limit=50&lease=0"
echo "serve after every worker served those: RSS $(rss VmRSS), peak $(rss VmHWM), $(threads) threads"
# The largest answer serve gives (1,000 events), eight at a time: its size does not depend on
# the table's, but each worker's malloc arena keeps its largest.
load "failed?limit=1000"
echo "serve after that: RSS $(rss VmRSS), peak $(rss VmHWM), $(threads) threads"

# The other extreme: every event pending, and a thousand of them leased.
sqlite3 "$db" ".timeout 5000" "UPDATE events SET processed = 0, attempts = 0, next_attempt_ms = NULL, lease_until_ms = NULL;" \
    "UPDATE events SET lease_until_ms = $now_ms + $hour_ms WHERE id <= 1000;"
hyperfine -N --warmup 2 --runs 10 --export-json "$work/pending.json" "$DQ_BIN --db $db stats --json" >/dev/null
python3 -c "import json, sys; r = json.load(open(sys.argv[1]))['results'][0]; print(f'all {$events} pending: dq stats --json: median {r[\"median\"] * 1000:.1f} ms, max {r[\"max\"] * 1000:.1f} ms over {len(r[\"times\"])} runs')" "$work/pending.json"
latency "all $events pending: " metrics
echo "serve after that: RSS $(rss VmRSS), peak $(rss VmHWM)"

# 5. Dead letters at the head: what a queue looks like after a webhook was deleted for a week
# and nobody looked. Every claim, the dead-letter list and the oldest due event must find the
# due events (the newest 10,000) without passing the 100,000 dead letters before them.
dead=$(( events / 10 ))
sqlite3 "$db" <<SQL
.timeout 5000
BEGIN;
UPDATE events SET processed = 0, attempts = 3, next_attempt_ms = NULL, lease_until_ms = NULL,
    last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), error_message = '404: Unknown Webhook'
    WHERE id <= $dead;
UPDATE events SET processed = 1, attempts = 0, next_attempt_ms = NULL, lease_until_ms = NULL,
    last_attempt = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id > $dead AND id <= $events - 10000;
UPDATE events SET processed = 0, attempts = 0, next_attempt_ms = NULL, lease_until_ms = NULL
    WHERE id > $events - 10000;
COMMIT;
SQL
label="$dead dead letters at the head: "
latency "$label" "events/claim?lease=60" POST
latency "$label" "failed?limit=50"
hyperfine -N --warmup 2 --runs 10 --export-json "$work/dead.json" "$DQ_BIN --db $db stats --json" >/dev/null
python3 -c "import json, sys; r = json.load(open(sys.argv[1]))['results'][0]; print(f'$label' f'dq stats --json: median {r[\"median\"] * 1000:.1f} ms, max {r[\"max\"] * 1000:.1f} ms over {len(r[\"times\"])} runs (load $(load_average))')" "$work/dead.json"
if [[ -n "$queue_bench" ]]; then
    echo "${label}in one process (load $(load_average)):"
    "$queue_bench" "$db" 100
fi
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
serve_pid=

# 6. Migration 6 on this file: drop its index, step the schema back, and time the first open.
# migrate SHAPE: one run of dq stats that builds the index again.
migrate() {
    sqlite3 "$db" ".timeout 5000" "DROP INDEX idx_ready;" "PRAGMA user_version = 5;"
    /usr/bin/time -f '%e' -o "$work/migrate.txt" "$DQ_BIN" --db "$db" stats >/dev/null
    echo "migration 6 (idx_ready) on $events events, $1: $(awk '{ printf "%.0f", $1 * 1000 }' "$work/migrate.txt") ms wall for the first dq stats (load $(load_average))"
}
if [[ $(sqlite3 "$db" "PRAGMA user_version") -ge 6 ]]; then
    migrate "$(( dead + 10000 )) unprocessed"
    sqlite3 "$db" ".timeout 5000" "UPDATE events SET processed = 0, attempts = 0, next_attempt_ms = NULL, lease_until_ms = NULL;"
    migrate "all pending"
fi
echo "machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
