#!/usr/bin/env bash
# What waiting costs `dq serve` (release build), with an empty queue:
#   1. CPU over SECONDS alone, then over SECONDS with one consumer long-polling
#      (POST /discord/events/claim?wait=25, again and again), from /proc/PID/stat
#      (utime + stime, in clock ticks); the issue's target: under 0.2% of a core for both;
#   2. wake-up delay from `dq publish` in another process to a waiting long poll, median and
#      p99 over 200 publishes (target: median under 10 ms);
#   3. resident memory and threads after 1,000 connection attempts at once (each sends
#      GET /discord/health), and threads again 7 s later (idle pool threads exit after 5 s).
# Needs: python3. Installs nothing.
# Usage: bench/idle.sh [seconds per CPU measurement, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
cargo build --release --locked --quiet
DQ=$PWD/target/release/dq
WORK=$(mktemp -d "$PWD/target/bench-idle.XXXXXX")
SERVE_PID=
trap 'if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
export DQ_DB=$WORK/events.db DQ_TOKEN=bench-token-0123456789abcdef
unset DQ_NO_AUTH DQ_BIND DQ_MAX_CONNECTIONS

"$DQ" serve --bind 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 100); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
URL=$(sed -n 's/^dq serve listening on //p' "$WORK/serve.out")
echo "dq serve $("$DQ" --version | cut -d' ' -f2) at $URL on $(nproc) cores"

python3 - "$DQ" "$URL" "$SERVE_PID" "$SECONDS_EACH" <<'PY'
import datetime, http.client, json, os, socket, statistics, subprocess, sys, threading, time, urllib.parse
dq, url, pid, seconds = sys.argv[1], urllib.parse.urlparse(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
auth = {"Authorization": "Bearer " + os.environ["DQ_TOKEN"]}
tick = os.sysconf("SC_CLK_TCK")

def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime

def status(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

def measure(label):
    before, start = cpu_ticks(), time.time()
    time.sleep(seconds)
    used, elapsed = cpu_ticks() - before, time.time() - start
    print(f"CPU {label} over {elapsed:.0f} s: {used} ticks = {used / tick / elapsed * 100:.3f}% of a core")

time.sleep(1)
measure("alone")

stop = threading.Event()
polls = []
def consumer():
    # One kept-alive connection, as a consumer has: silent for 25 s while each poll waits.
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    while not stop.is_set():
        conn.request("POST", "/discord/events/claim?limit=10&lease=60&wait=25", headers=auth)
        polls.append(json.loads(conn.getresponse().read())["count"])
waiter = threading.Thread(target=consumer, daemon=True)
waiter.start()
time.sleep(0.5)
measure("with one consumer long-polling (wait=25)")
stop.set()
waiter.join()  # its last poll ends within 25 s, so it takes none of the events below
print(f"  its long polls: {len(polls)} answered, all empty: {all(count == 0 for count in polls)}")

conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
from_commit, from_spawn = [], []
for n in range(200):
    result = {}
    def poll():
        conn.request("POST", "/discord/events/claim?wait=30&limit=1&lease=60", headers=auth)
        result["body"] = json.loads(conn.getresponse().read())
        result["at"] = time.time()
    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.05)  # let the poll park
    spawned = time.time()
    subprocess.run([dq, "publish", "event", "wake", "--field", f"n={n}"], check=True, stdout=subprocess.DEVNULL)
    thread.join()
    event = result["body"]["events"][0]
    created = datetime.datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()
    from_commit.append((result["at"] - created) * 1000)
    from_spawn.append((result["at"] - spawned) * 1000)
    ack = json.dumps({"events": [{"id": event["id"], "status": "processed"}]})
    conn.request("POST", "/discord/events/ack", body=ack, headers=auth)
    conn.getresponse().read()
def p99(values):
    return sorted(values)[int(len(values) * 0.99) - 1]
print(f"wake-up over 200 publishes, from the event's created_at (before publish's durable commit) "
      f"to the answer: median {statistics.median(from_commit):.1f} ms, p99 {p99(from_commit):.1f} ms")
print(f"  from spawning `dq publish` (process start included): median "
      f"{statistics.median(from_spawn):.1f} ms, p99 {p99(from_spawn):.1f} ms")

print(f"before the connections: RSS {status('VmRSS') / 1024:.1f} MiB, peak {status('VmHWM') / 1024:.1f} MiB, "
      f"{status('Threads')} threads")
sockets, answers = [], {}
for _ in range(1000):
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.sendall(b"GET /discord/health HTTP/1.1\r\nHost: dq\r\n\r\n")
    sockets.append(sock)
peak_threads = status("Threads")
for sock in sockets:
    try:
        head = sock.recv(64)
        code = head.split(b" ")[1].decode() if head.startswith(b"HTTP/1.1 ") else "none"
    except OSError:
        code = "none"
    answers[code] = answers.get(code, 0) + 1
    peak_threads = max(peak_threads, status("Threads"))
for sock in sockets:
    sock.close()
time.sleep(0.5)
print(f"after 1,000 connections at once: answers {dict(sorted(answers.items()))}; "
      f"RSS {status('VmRSS') / 1024:.1f} MiB, peak {status('VmHWM') / 1024:.1f} MiB; "
      f"threads {status('Threads')} (at most {peak_threads} seen)")
time.sleep(7)
print(f"7 s later: RSS {status('VmRSS') / 1024:.1f} MiB, {status('Threads')} threads")
PY
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" && echo "SIGTERM: exit 0"
SERVE_PID=
