#!/usr/bin/env bash
# Benchmarks the cold start of issue 8: `dq publish` to the fake Discord while `dq consume`
# sleeps on the simulated Render free plan (tests/support/platform.rs), which starts it on the
# announcement that follows the publish (target: under 2 s beyond the platform's own start).
# Runs the ignored test `cold_start_from_publish_to_discord` in release mode.
# Needs: cargo. Usage: bench/cold_start.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DQ_BENCH_ROUNDS=${1:-10} cargo test --release --locked --quiet --test consume_platform \
    -- --ignored --exact cold_start_from_publish_to_discord --nocapture 2>&1 \
    | grep -E '^cold start|panicked|FAILED'
