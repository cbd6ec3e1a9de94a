#!/usr/bin/env bash
# What reading and checking the config file costs every command: `dq stats` and
# `dq publish test` started with no config file, and with a file holding a key of every kind
# (string, integer, boolean, list, a secret) plus a [templates] table, timed by hyperfine.
# BASELINE=/path/to/dq adds an older binary (one built before the config file) to compare.
#
# Needs: hyperfine. Installs nothing. Builds dq in release mode unless DQ_BIN names a binary.
#
# Usage: bench/config.sh [RUNS (default 200)]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-200}
command -v hyperfine >/dev/null || { echo "bench/config.sh needs hyperfine" >&2; exit 1; }
if [[ -z "${DQ_BIN:-}" ]]; then
    cargo build --release --locked --quiet
    DQ_BIN=$PWD/target/release/dq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Keep the developer's settings out of the measurement.
unset DQ_DB DQ_CONFIG DISCORD_USER_ID DISCORD_WEBHOOK_URL DISCORD_BOT_TOKEN CODESPACE_NAME \
    DQ_MAX_ATTEMPTS DQ_BUSY_TIMEOUT_MS DQ_LANG DQ_WAIT DQ_SOURCES DQ_TOKEN
export XDG_CONFIG_HOME=$work/empty

db=$work/events.db
"$DQ_BIN" --db "$db" stats >/dev/null
config=$work/config.toml
cat >"$config" <<'TOML'
# A file as dq setup and a few `dq config set` leave it.
webhook = "https://discord.com/api/webhooks/1234567890/abcdefghijklmnopqrstuvwxyz"
user-id = "123456789012345678"
lang = "en"
wait = 20
mention = true
retention = "3d"
sources = ["https://a-8080.app.github.dev", "https://b-8080.app.github.dev"]
headers = ["X-Github-Token: ghp_0123456789"]

[templates.backup_error]
title = "Backup failed on {{ codespace_name }}"
TOML
chmod 600 "$config"

args=(--shell=none --warmup 20 --runs "$runs")
names=()
commands=()
for binary in "$DQ_BIN" ${BASELINE:+"$BASELINE"}; do
    label=$([[ $binary == "$DQ_BIN" ]] && echo dq || echo baseline)
    names+=("$label stats, no file" "$label publish, no file")
    commands+=("$binary --db $db stats" "$binary --db $db publish test")
    if [[ $label == dq ]]; then
        names+=("$label stats, with the file" "$label publish, with the file")
        commands+=("$binary --config $config --db $db stats"
            "$binary --config $config --db $db publish test")
    fi
done
for index in "${!commands[@]}"; do
    args+=(-n "${names[$index]}" "${commands[$index]}")
done
hyperfine "${args[@]}" --export-markdown "$work/result.md" >/dev/null
cat "$work/result.md"
