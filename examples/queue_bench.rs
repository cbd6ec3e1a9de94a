//! What the queue's reads cost in one process, on the database given: claims (leased, and
//! read-only as a safe GET), the next due times (serve's lobby, the announcer, consume's local
//! mode), the newest dead letters and stats, each timed over many calls. Run by
//! `bench/scale.sh` after it shapes the table; each leased claim takes 10 due events.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::Utc;
use dq::store::{Claim, Policy, Store, DEFAULT_BUSY_TIMEOUT};

/// Calls `call` a few times to warm up, then `runs` times, and prints the median and worst.
fn measure(label: &str, runs: usize, mut call: impl FnMut()) {
    for _ in 0..3 {
        call();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |time: Duration| time.as_secs_f64() * 1000.0;
    println!(
        "  in process, {label}: median {:.3} ms, max {:.3} ms over {runs} calls",
        ms(times[runs / 2]),
        ms(times[runs - 1])
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: queue_bench DB [CLAIMS]");
    let claims: usize = args
        .next()
        .map_or(100, |value| value.parse().unwrap())
        .max(1);
    let mut store = Store::open(path.as_ref(), Policy::default(), DEFAULT_BUSY_TIMEOUT).unwrap();
    let lease = |seconds| Claim {
        limit: 10,
        lease: Duration::from_secs(seconds),
    };
    measure("claim limit=10 lease=60", claims, || {
        assert!(!store.claim(lease(60), Utc::now()).unwrap().is_empty());
    });
    measure("read limit=10 (lease 0)", 1000, || {
        store.claim(lease(0), Utc::now()).unwrap();
    });
    measure("next_due", 1000, || {
        store.next_due().unwrap();
    });
    measure("next_due_after(now)", 1000, || {
        store.next_due_after(Utc::now()).unwrap();
    });
    measure("failed limit=50", 1000, || {
        store.failed(50).unwrap();
    });
    measure("stats", 1000, || {
        store.stats(Utc::now()).unwrap();
    });
}
