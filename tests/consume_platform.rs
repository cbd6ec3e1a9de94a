//! The consumer's half of a cold start on the simulated Render free plan (`support::platform`),
//! for `bench/cold_start.sh`: a real `dq serve` is announced by hand right after each publish,
//! so the figure leaves out serve's wake rule and shows what the consumer itself costs. The
//! fleet's behaviour (sleeping, waking, heartbeats, tokens, restarts, nothing lost) is proven
//! with real `dq serve --announce` processes in `tests/fleet.rs`; `bench/wake.sh` measures the
//! whole path.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::codespace::Codespace;
use support::consume::request;
use support::discord::FakeDiscord;
use support::platform::Platform;
use support::serve::{eventually, Serve};
use support::TempDb;

const KEY: &str = "platform-announce-key-0123456789";
const DELIVERY: Duration = Duration::from_secs(30);

/// The announcement `dq serve --announce` would send for `codespace`.
fn announcement(codespace: &Codespace) -> String {
    json!({
        "url": format!("http://{}", codespace.serve.addr),
        "token": codespace.token(),
        "name": codespace.name,
    })
    .to_string()
}

fn announce(platform: &Platform, codespace: &Codespace, key: &str) -> support::serve::Answer {
    let auth = format!("Bearer {key}");
    request(
        platform.addr(),
        "POST",
        "/sources",
        &[("Authorization", &auth)],
        Some(&announcement(codespace)),
    )
}

/// The cold-start benchmark (`bench/cold_start.sh` runs it; ignored in `cargo test`): from
/// `dq publish` to the fake Discord while the consumer sleeps on the platform. The test stands
/// in for `dq serve --announce`'s wake, announcing right after the publish, so the figures are
/// the consumer's side: the platform starting the process, consume listening, registering the
/// source, claiming and delivering.
#[test]
#[ignore]
fn cold_start_from_publish_to_discord() {
    let rounds: usize = std::env::var("DQ_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(10);
    let fake = FakeDiscord::start();
    let webhook = fake.webhook_url();
    let platform = Platform::start(Duration::from_secs(2), move || {
        let mut command = support::dq();
        command
            .args(["consume", "--announce-key", KEY, "--allow-http-sources"])
            .args(["--webhook", &webhook]);
        command
    });
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    let codespace = Codespace::new(db, serve, "codespace-a");
    let mut totals = Vec::new();
    let mut listening = Vec::new();
    for round in 0..rounds {
        assert!(platform.wait_until_asleep(Duration::from_secs(30)));
        let before = fake.messages().len();
        let published = std::time::Instant::now();
        codespace.publish(1, round);
        assert_eq!(announce(&platform, &codespace, KEY).status, 200);
        assert!(eventually(DELIVERY, || fake.messages().len() > before));
        let delivered = fake.messages()[before].at;
        totals.push(delivered - published);
        if let Some(support::platform::Change::Started {
            at,
            ready: Some(ready),
        }) = platform
            .history()
            .iter()
            .rev()
            .find(|change| matches!(change, support::platform::Change::Started { .. }))
        {
            listening.push(*ready - *at);
        }
    }
    let median = |values: &mut Vec<Duration>| {
        values.sort();
        values[values.len() / 2]
    };
    let worst = totals.iter().max().copied().unwrap_or_default();
    println!(
        "cold start over {rounds} rounds: publish -> Discord median {:.0} ms, worst {:.0} ms; \
         of which process start -> listening median {:.0} ms",
        median(&mut totals).as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0,
        median(&mut listening).as_secs_f64() * 1000.0,
    );
}
