# Sourced by the consume benchmarks (consume.sh, consume_idle.sh, announce.sh, metrics.sh): a
# scratch directory removed on exit together with every process whose pid is in PIDS, the
# developer's config file kept out of the measurement, and small helpers. Expects FAKE (the
# fake Discord's binary) to be set before `start_fake` is called.

WORK=$(mktemp -d)
# The developer's config file stays out of the measurement.
unset DQ_CONFIG
export XDG_CONFIG_HOME=$WORK/no-config
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL: until it answers 2xx
wait_http() {
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do sleep 0.05; done
}

# start_fake LOG [LIMIT]: sets FAKE_URL (not in a subshell, so cleanup knows the pid)
start_fake() {
    local port
    port=$(free_port)
    "$FAKE" "127.0.0.1:$port" ${2:-} >"$1" &
    PIDS+=($!)
    until grep -q '^listening' "$1" 2>/dev/null; do sleep 0.05; done
    FAKE_URL="http://127.0.0.1:$port"
}

# latency_summary LOG EXPECTED: the delay of each event whose first field is N:SENT_NS, from
# the fake's log (its received_ns), as median and p99
latency_summary() {
    python3 - "$1" "$2" <<'PY'
import json, sys
latencies = []
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    record = json.loads(line)
    if record["status"] != 200:
        continue
    for value in record["values"]:
        number, sent = value.split(":")
        latencies.append((int(record["received_ns"]) - int(sent)) / 1e6)
latencies.sort()
n = len(latencies)
print(f"events received: {n} of {sys.argv[2]}")
print(f"median: {latencies[n // 2]:.1f} ms   p99: {latencies[min(n - 1, int(n * 0.99))]:.1f} ms   max: {latencies[-1]:.1f} ms")
PY
}
