#!/usr/bin/env bash
# What rendering costs per event, in one process: built-in layouts, the presentation flags, and
# templates (examples/render_bench.rs). Planning and rendering both count, as in dq consume
# (plan sizes each message by rendering its events, render renders them again).
#
# Usage: bench/render.sh [EVENTS (default 20000)]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --locked --quiet --example render_bench -- "${1:-20000}"
