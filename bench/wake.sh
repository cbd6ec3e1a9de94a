#!/usr/bin/env bash
# The cold-start benchmark of issue 8: from `dq publish` to the fake Discord with the consumer
# asleep on the simulated Render free plan, and the overhead beyond the platform's own start
# of the consumer (target: under 2 s). Runs bench/wake.rs (release binaries: one
# `dq serve --announce`, `dq consume --announce-key` started by the platform on the wake).
# Then serve's CPU over IDLE_SECONDS with nothing due (the announcer must not poll).
# Needs: cargo, Linux /proc, getconf. Installs nothing.
# Usage: bench/wake.sh [CYCLES] [IDLE_SECONDS]   (default 10 and 60)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked --bench wake -- "${1:-10}" "${2:-60}"
