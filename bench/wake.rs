//! The cold-start benchmark of issue 8 (`bench/wake.sh` runs it): from `dq publish` to the
//! fake Discord, with the consumer asleep on the simulated Render free plan
//! (`tests/support/platform.rs`), and how much of that is beyond the platform's own start of
//! the consumer. Real release binaries: one `dq serve --announce` (heartbeat 1 h, so only the
//! wake starts the consumer) and `dq consume --announce-key` started by the platform.
//!
//! Each cycle waits until the platform has put the consumer to sleep and for `ASLEEP` more
//! (on Render it sleeps after 15 minutes idle, so its last claim is long past; here the idle
//! limit is short, and within `CLAIM_QUIET` of a claim serve takes the consumer for one at
//! work, by the rule), publishes one event and times: publish → the platform starting the consumer (the wake: `dq publish` itself, serve
//! noticing the event, the grace, the announcement arriving), the platform's own start (the
//! consumer process until it accepts connections), and ready → Discord (the announcement
//! forwarded, the source registered, claimed, rendered, sent). The overhead is the whole less
//! the platform's own start; the target is under 2 s.
//!
//! Then, with nothing due and the consumer asleep, it reads what serve (announcer included)
//! spends over `IDLE_SECONDS` (default 60) from `/proc/PID/stat`: the announcer must not poll
//! while nothing is due (serve's target: under 0.2% of a core).
//!
//! `cargo bench --bench wake -- [CYCLES] [IDLE_SECONDS]` (default 10 and 60).
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::discord::FakeDiscord;
use support::platform::{Change, Platform};
use support::serve::Serve;
use support::TempDb;

const KEY: &str = "bench-wake-key-0123456789abcdef";
/// The platform's idle limit: short, so cycles are quick.
const IDLE: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(60);
/// The consumer's long poll, and how long it has been asleep when an event comes: longer than
/// the poll and the 5 s that follow it together. Its last claim stays parked on serve until
/// the poll runs out, and serve takes a claim seen parked in the last 5 s for a consumer at
/// work, so an event published sooner waits out the rest of those 5 s (with 6 s here, about a
/// second) before serve rings. On Render, asleep only after 15 minutes idle, that claim is
/// always long gone.
const WAIT: &str = "4";
const ASLEEP: Duration = Duration::from_secs(10);

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .map(|arg| arg.parse().expect("CYCLES and IDLE_SECONDS are numbers"))
        .collect();
    let cycles = numbers.first().map_or(10, |cycles| *cycles as usize);
    let idle_seconds = numbers.get(1).copied().unwrap_or(60);
    let fake = FakeDiscord::start();
    let webhook = fake.webhook_url();
    let platform = Platform::start(IDLE, move || {
        let mut command = support::dq();
        command
            .args(["consume", "--announce-key", KEY, "--allow-http-sources"])
            .args(["--webhook", &webhook, "--wait", WAIT]);
        command
    });
    let db = TempDb::new();
    let serve = Serve::announcing(&db, &platform.url(), KEY, "1h", &[]);
    println!(
        "dq serve --announce (heartbeat 1h) and dq consume --wait {WAIT} on a platform that sleeps \
         it after {} s idle; each event published {} s after it fell asleep; {cycles} cycles",
        IDLE.as_secs(),
        ASLEEP.as_secs()
    );
    println!("cycle  publish->start  platform start  ready->Discord   total  overhead");
    let mut overheads = Vec::new();
    let mut totals = Vec::new();
    for cycle in 1..=cycles {
        assert!(
            support::serve::eventually(TIMEOUT, || platform.starts() >= 1),
            "the announcement at start never reached the platform"
        );
        assert!(
            platform.wait_until_asleep(TIMEOUT),
            "the consumer never slept"
        );
        std::thread::sleep(ASLEEP);
        let before = fake.messages().len();
        let published = Instant::now();
        let output = db
            .dq()
            .args(["publish", "message", &format!("cycle {cycle}")])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert!(
            support::serve::eventually(TIMEOUT, || fake.messages().len() > before),
            "cycle {cycle}: nothing delivered; serve: {}",
            serve.stderr()
        );
        let delivered = fake.messages()[before].at;
        let Some(Change::Started {
            at: started,
            ready: Some(ready),
        }) = platform
            .history()
            .into_iter()
            .rev()
            .find(|change| matches!(change, Change::Started { .. }))
        else {
            panic!("cycle {cycle}: no start recorded: {:?}", platform.history());
        };
        assert!(
            started >= published,
            "cycle {cycle}: the consumer was not asleep"
        );
        let total = delivered - published;
        let own = ready - started;
        let overhead = total - own;
        println!(
            "{cycle:>5}  {:>12.0} ms  {:>11.0} ms  {:>11.0} ms  {:>5.0} ms  {:>5.0} ms",
            millis(started - published),
            millis(own),
            millis(delivered - ready),
            millis(total),
            millis(overhead)
        );
        overheads.push(overhead);
        totals.push(total);
    }
    overheads.sort();
    totals.sort();
    let median = |values: &[Duration]| values[values.len() / 2];
    println!(
        "overhead beyond the platform's own start: median {:.0} ms, max {:.0} ms (target < 2000 ms); publish to Discord: median {:.0} ms, max {:.0} ms",
        millis(median(&overheads)),
        millis(*overheads.last().unwrap()),
        millis(median(&totals)),
        millis(*totals.last().unwrap()),
    );

    if idle_seconds > 0 {
        assert!(
            platform.wait_until_asleep(TIMEOUT),
            "the consumer never slept"
        );
        let pid = serve.pid();
        let (before, since) = (cpu_ticks(pid), Instant::now());
        let starts = platform.starts();
        std::thread::sleep(Duration::from_secs(idle_seconds));
        let (used, elapsed) = (cpu_ticks(pid) - before, since.elapsed().as_secs_f64());
        println!(
            "serve with nothing due, announcing (heartbeat 1h) to a sleeping consumer: {used} ticks \
             in {elapsed:.0} s = {:.3}% of a core; {} announcements woke the consumer meanwhile",
            used as f64 / clock_ticks_per_second() / elapsed * 100.0,
            platform.starts() - starts
        );
    }
}

/// Serve's CPU time so far (user + system), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> f64 {
    let output = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
