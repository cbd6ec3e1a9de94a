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
//! `cargo bench --bench wake -- [CYCLES]` (default 10).
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::discord::FakeDiscord;
use support::platform::{Change, Platform};
use support::serve::{free_port, Serve};
use support::TempDb;

const KEY: &str = "bench-wake-key-0123456789abcdef";
/// The platform's idle limit: short, so cycles are quick.
const IDLE: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(60);
/// The consumer's long poll, and how long it has been asleep when an event comes: longer than
/// the poll (its last claim, parked when it was stopped, has run out) and than the 5 s after a
/// claim in which serve takes a consumer for one at work.
const WAIT: &str = "4";
const ASLEEP: Duration = Duration::from_secs(6);

fn main() {
    let cycles: usize = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map_or(10, |cycles| cycles.parse().expect("CYCLES is a number"));
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
    let bind = format!("127.0.0.1:{}", free_port());
    let public_url = format!("http://{bind}");
    let consumer = platform.url();
    let serve = Serve::start_on(
        &db,
        &bind,
        &[
            "--announce",
            &consumer,
            "--announce-key",
            KEY,
            "--public-url",
            &public_url,
            "--announce-every",
            "1h",
        ],
        &[],
    );
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
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
