#!/usr/bin/env bash
# How fast is `dq publish` compared with the floor: one `sqlite3` command-line insert of the same
# row into a WAL database with synchronous=FULL? And how many events per second does
# `dq publish batch` store?
#
# Needs: bash 5 (EPOCHREALTIME), awk, sort, and the `sqlite3` command-line shell (Debian package
# `sqlite3`). Installs nothing. Builds dq in release mode unless DQ_BIN names a binary.
#
# Usage: bench/publish.sh [RUNS (default 30)] [BATCH_EVENTS (default 100000)]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-30}
batch_events=${2:-100000}

command -v sqlite3 >/dev/null || { echo "bench/publish.sh needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
if [[ -z "${DQ_BIN:-}" ]]; then
    cargo build --release --locked --quiet
    DQ_BIN=$PWD/target/release/dq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Keep the developer's settings out of the measurement.
unset DQ_DB DISCORD_USER_ID CODESPACE_NAME DQ_MAX_ATTEMPTS DQ_BUSY_TIMEOUT_MS
# Nor their config file.
unset DQ_CONFIG
export XDG_CONFIG_HOME=$work/no-config

dq_db=$work/dq.db
floor_db=$work/floor.db
# Both databases get dq's schema (and so the same indexes) and WAL mode before timing starts.
"$DQ_BIN" --db "$dq_db" stats >/dev/null
"$DQ_BIN" --db "$floor_db" stats >/dev/null

payload='{"error_type":"backup_compression","error_message":"No space left","backup_file":null,"codespace_name":null,"timestamp":"2026-11-27T17:59:01.259152Z"}'
floor_sql="PRAGMA synchronous=FULL; INSERT INTO events (user_id, event_type, payload, created_at, processed, attempts) VALUES ('', 'backup_error', '$payload', '2026-11-27T17:59:01.259152Z', 0, 0);"

# Microseconds one command takes, measured from this shell.
elapsed_us() {
    local start=$EPOCHREALTIME
    "$@" >/dev/null
    local end=$EPOCHREALTIME
    echo $(( (${end/./} - ${start/./}) ))
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One warm-up of each, then interleave so both see the same machine state.
"$DQ_BIN" --db "$dq_db" publish backup-error --error-type compression --message "No space left" >/dev/null
sqlite3 "$floor_db" "$floor_sql"
: >"$work/dq.times"
: >"$work/floor.times"
for _ in $(seq "$runs"); do
    elapsed_us "$DQ_BIN" --db "$dq_db" publish backup-error --error-type compression --message "No space left" >>"$work/dq.times"
    elapsed_us sqlite3 "$floor_db" "$floor_sql" >>"$work/floor.times"
done
dq_median=$(median <"$work/dq.times")
floor_median=$(median <"$work/floor.times")
ratio=$(awk -v a="$dq_median" -v b="$floor_median" 'BEGIN { printf "%.2f", a / b }')
echo "dq publish:        median $(awk -v u="$dq_median" 'BEGIN { printf "%.2f", u / 1000 }') ms over $runs runs"
echo "sqlite3 CLI floor: median $(awk -v u="$floor_median" 'BEGIN { printf "%.2f", u / 1000 }') ms over $runs runs"
echo "ratio dq / floor:  ${ratio}x (target <= 1.3x)"

# Batch throughput: one transaction of BATCH_EVENTS lines into a fresh database.
batch_db=$work/batch.db
"$DQ_BIN" --db "$batch_db" stats >/dev/null
awk -v n="$batch_events" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"event_type\":\"backup_success\",\"payload\":{\"backup_file\":\"backup-%d.tar.gz\",\"size_mb\":512.5,\"duration_seconds\":42}}\n", i }' >"$work/batch.ndjson"
TIMEFORMAT='%R %U %S'
batch_times=$( { time "$DQ_BIN" --db "$batch_db" publish batch <"$work/batch.ndjson" >/dev/null; } 2>&1 )
read -r batch_real batch_user batch_sys <<<"$batch_times"
stored=$(sqlite3 "$batch_db" "SELECT COUNT(*) FROM events")
echo "dq publish batch:  $stored events in ${batch_real} s (cpu: ${batch_user} s user, ${batch_sys} s sys) = $(awk -v n="$stored" -v s="$batch_real" 'BEGIN { printf "%.0f", n / s }') events/s (target >= 100000)"
echo "machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
