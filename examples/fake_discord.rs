//! The tests' fake Discord as a standalone server, for `bench/consume.sh`.
//!
//! `cargo run --release --example fake_discord -- [ADDR] [REQUESTS/SECONDS]` listens on ADDR
//! (default 127.0.0.1:0), prints `listening http://ADDR` and then one JSON line per request
//! to a message route: `{"status", "received_ns", "values"}`, `values` being the first field
//! value of each embed (the benchmark puts the event's number and send time there).
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/discord.rs"]
mod discord;

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use discord::{Config, FakeDiscord, RateLimit};

fn main() {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let rate_limit = args.next().map(|limit| {
        let (requests, seconds) = limit.split_once('/').expect("REQUESTS/SECONDS");
        RateLimit {
            requests: requests.parse().expect("a number of requests"),
            window: Duration::from_secs_f64(seconds.parse().expect("a number of seconds")),
        }
    });
    let fake = FakeDiscord::bind(
        &address,
        Config {
            rate_limit,
            ..Config::default()
        },
    );
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {}", fake.url()).unwrap();
    stdout.flush().unwrap();
    let mut seen = 0;
    loop {
        let requests = fake.requests_since(seen);
        seen += requests.len();
        for request in requests.iter().filter(|request| {
            request.path.contains("/webhooks/") || request.path.ends_with("/messages")
        }) {
            let received_ns = request
                .wall
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let values: Vec<serde_json::Value> = request.body["embeds"]
                .as_array()
                .map(|embeds| {
                    embeds
                        .iter()
                        .map(|embed| embed["fields"][0]["value"].clone())
                        .collect()
                })
                .unwrap_or_default();
            let line = serde_json::json!({
                "status": request.status,
                "received_ns": received_ns.to_string(),
                "values": values,
            });
            if writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
