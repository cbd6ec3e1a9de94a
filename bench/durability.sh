#!/usr/bin/env bash
# Shows that `dq serve` has an acknowledgement on disk before it answers 200, by tracing the
# system calls of a real serve (release build) with strace:
#   - claims 10 events and acknowledges them in one batch, 50 times, then 20 single
#     `POST /discord/events/{id}/processed` and 20 `.../failed`;
#   - in the trace, on the worker thread that wrote each answer, checks that since its
#     previous answer it wrote to the database's WAL (pwrite64) and then synced it
#     (fdatasync/fsync returning 0), before the first byte of this answer went out (an answer
#     is one write, or for a claim two: its head, then its body);
#   - claims are the control: they commit with synchronous=NORMAL, so no sync may precede
#     their answers (otherwise the check would prove nothing).
# What this proves: the kernel reported the WAL frames of every acknowledgement's commit as
# on stable storage before the client could see the 200. What it cannot: that the disk (here
# a virtual one) honours the flush, nor what a power cut does to a disk that lies about it;
# the issue's LazyFS run (dropping unsynced writes) is not installable here.
# Needs: strace (Debian package `strace`), python3. Installs nothing.
# Usage: bench/durability.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in strace python3; do
    command -v "$tool" >/dev/null || { echo "bench/durability.sh needs $tool (apt-get install $tool)" >&2; exit 2; }
done
cargo build --release --locked --quiet
DQ=$PWD/target/release/dq
WORK=$(mktemp -d)
SERVE_PID=
stop() {
    if [ -n "$SERVE_PID" ]; then
        kill "$(cat /proc/"$SERVE_PID"/task/"$SERVE_PID"/children 2>/dev/null)" "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop EXIT
export DQ_DB=$WORK/events.db DQ_TOKEN=durability-token-0123456789
unset DQ_NO_AUTH DQ_BIND

python3 -c 'import json
for n in range(540): print(json.dumps({"event_type": "custom", "payload": {"n": n}}))' \
    | "$DQ" publish batch >/dev/null

strace -f -qq -tt -y -s 400 -e trace=pwrite64,write,writev,sendto,sendmsg,fsync,fdatasync \
    -o "$WORK/trace" "$DQ" serve --bind 127.0.0.1:0 --workers 2 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 200); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
URL=$(sed -n 's/^dq serve listening on //p' "$WORK/serve.out")
[ -n "$URL" ] || { cat "$WORK/serve.err" >&2; exit 1; }

python3 - "$URL" <<'PY'
import http.client, json, os, sys, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
auth = {"Authorization": "Bearer " + os.environ["DQ_TOKEN"]}
conn = http.client.HTTPConnection(url.hostname, url.port)
def call(method, path, body=None):
    conn.request(method, path, body=body, headers=auth)
    answer = conn.getresponse()
    data = json.loads(answer.read())
    assert answer.status == 200, (answer.status, data)
    return data
for _ in range(50):
    events = call("POST", "/discord/events/claim?limit=10&lease=60")["events"]
    acks = [{"id": event["id"], "status": "processed"} for event in events]
    results = call("POST", "/discord/events/ack", json.dumps({"events": acks}))["results"]
    assert [result["status"] for result in results] == ["processed"] * 10, results
events = call("POST", "/discord/events/claim?limit=40&lease=60")["events"]
for event in events[:20]:
    call("POST", f"/discord/events/{event['id']}/processed")
for event in events[20:]:
    call("POST", f"/discord/events/{event['id']}/failed", json.dumps({"error_message": "x"}))
PY
# SIGTERM to serve itself (strace is its parent); strace exits with it.
kill -TERM "$(cat /proc/"$SERVE_PID"/task/"$SERVE_PID"/children)"
wait "$SERVE_PID"
SERVE_PID=

python3 - "$WORK/trace" <<'PY'
import re, sys
# Per thread: did it write the WAL, then sync it, since its last answer?
state = {}
answers = {"ack": [], "processed": [], "failed": [], "claim": []}
pending_head = {}
line_re = re.compile(r'^(\d+)\s+\S+\s+(\w+)\((\d+)<([^>]*)>(.*)$')
def classify(body, synced):
    if '"results"' in body:
        answers["ack"].append(synced)
    elif '"status":"processed"' in body:
        answers["processed"].append(synced)
    elif '"status":"failed"' in body:
        answers["failed"].append(synced)
    elif '"count"' in body:
        answers["claim"].append(synced)
for line in open(sys.argv[1], errors="replace"):
    match = line_re.match(line)
    if not match:
        continue
    pid, call, _fd, target, rest = match.groups()
    rest = rest.replace('\\"', '"')
    thread = state.setdefault(pid, {"wal_written": False, "synced": False})
    if call == "pwrite64" and target.endswith("-wal"):
        thread["wal_written"] = True
        thread["synced"] = False
    elif call in ("fdatasync", "fsync") and target.endswith("-wal") and "= 0" in rest:
        if thread["wal_written"]:
            thread["synced"] = True
    elif call in ("write", "writev", "sendto", "sendmsg") and ("TCP" in target or "socket" in target):
        # An answer is one write (head and body), or two (a claim's: the head, then the body).
        if '"HTTP/1.1 200' in rest:
            synced = thread["synced"]
            thread["wal_written"] = thread["synced"] = False
            body = rest.split("\\r\\n\\r\\n", 1)[1] if "\\r\\n\\r\\n" in rest else ""
            if body.startswith("{"):
                classify(body, synced)
            else:
                pending_head[pid] = synced
        elif pid in pending_head:
            classify(rest, pending_head.pop(pid))
ok = True
for route, expected, wanted in [("ack", True, 50), ("processed", True, 20), ("failed", True, 20), ("claim", False, 51)]:
    seen = answers[route]
    good = sum(1 for synced in seen if synced == expected)
    verdict = "ok" if good == len(seen) == wanted else "FAILED"
    ok &= verdict == "ok"
    what = "WAL written and synced before the 200" if expected else "no sync before the 200 (control)"
    print(f"{route:>9}: {good} of {len(seen)} answers (expected {wanted}): {what}: {verdict}")
sys.exit(0 if ok else 1)
PY
