//! Many Codespaces, one consumer that is never asleep when an event waits (issue 8), end to
//! end with real processes only: each Codespace is a `dq serve --announce` with its own
//! database and generated token; the consumer is the real `dq consume --announce-key` on the
//! simulated Render free plan (`support::platform`), which starts it only on an inbound
//! request and stops it after `IDLE` without one. Nothing in these tests announces by hand.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::codespace::Codespace;
use support::consume::request;
use support::discord::FakeDiscord;
use support::platform::Platform;
use support::serve::{eventually, Serve};
use support::TempDb;

const KEY: &str = "fleet-announce-key-0123456789";
/// The platform's idle limit (Render's is 15 minutes).
const IDLE: Duration = Duration::from_secs(3);
/// Generous: a loaded 2-core machine is slow, and nothing waits this long on success.
const DELIVERY: Duration = Duration::from_secs(45);

/// A Codespace announcing to `platform` every `every` (and when events wait unclaimed), with
/// `key`.
fn codespace(name: &str, platform: &Platform, every: &str, key: &str) -> Codespace {
    let db = TempDb::new();
    let serve = Serve::announcing(
        &db,
        &platform.url(),
        key,
        every,
        &[("CODESPACE_NAME", name)],
    );
    Codespace::new(db, serve, name)
}

fn platform(fake: &FakeDiscord, idle: Duration) -> Platform {
    let webhook = fake.webhook_url();
    Platform::start(idle, move || {
        let mut command = support::dq();
        command
            .args(["consume", "--announce-key", KEY, "--allow-http-sources"])
            .args(["--webhook", &webhook, "--wait", "2"]);
        command
    })
}

/// `GET /sources` through the platform (an inbound request: it wakes the consumer too).
fn listed(platform: &Platform) -> Value {
    let auth = format!("Bearer {KEY}");
    let answer = request(
        platform.addr(),
        "GET",
        "/sources",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()
}

/// Every embed, counted: each must be there exactly once.
fn delivered(fake: &FakeDiscord) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for embed in fake.embeds() {
        *seen.entry(embed.to_string()).or_insert(0) += 1;
    }
    seen
}

#[test]
fn an_event_published_while_the_consumer_sleeps_is_delivered_after_serve_wakes_it() {
    let fake = FakeDiscord::start();
    let platform = platform(&fake, IDLE);
    let codespace = codespace("codespace-a", &platform, "1h", KEY);
    // The announcement at start is the first inbound request: it starts the consumer.
    assert!(eventually(DELIVERY, || platform.starts() == 1));
    assert!(platform.wait_until_asleep(DELIVERY), "it sleeps when idle");
    assert_eq!(
        platform.exit_codes(),
        vec![Some(0)],
        "SIGTERM is a clean stop"
    );
    // Nothing due: serve stays quiet, and the consumer asleep.
    thread::sleep(Duration::from_secs(2));
    assert_eq!(platform.starts(), 1);

    codespace.publish(1, 0);
    assert_eq!(fake.wait_for_embeds(1, DELIVERY).len(), 1);
    assert_eq!(
        platform.starts(),
        2,
        "the wake started it: {:?}",
        platform.history()
    );
    assert!(eventually(DELIVERY, || codespace.processed() == 1));
    assert!(
        platform.logs().contains("codespace-a"),
        "{}",
        platform.logs()
    );
}

#[test]
fn a_heartbeat_shorter_than_the_idle_limit_keeps_the_consumer_awake_and_is_all_serve_sends() {
    let fake = FakeDiscord::start();
    let platform = platform(&fake, IDLE);
    let started = Instant::now();
    let codespace = codespace("codespace-a", &platform, "1s", KEY);
    for round in 0..6 {
        codespace.publish(1, round);
        thread::sleep(IDLE / 3);
    }
    assert_eq!(fake.wait_for_embeds(6, DELIVERY).len(), 6);
    let elapsed = started.elapsed().as_secs();
    let sources = listed(&platform);
    assert_eq!(platform.starts(), 1, "one start: {:?}", platform.history());
    assert_eq!(platform.stops(), 0);
    // The consumer claims all the while, so serve only beats: at most one a second.
    let announcements = sources["sources"][0]["announcements"].as_u64().unwrap();
    assert!(
        announcements >= 2 && announcements <= elapsed + 2,
        "{announcements} announcements in {elapsed} s"
    );
    // Without them, it sleeps.
    drop(codespace);
    assert!(platform.wait_until_asleep(DELIVERY));
}

#[test]
fn two_codespaces_with_their_own_tokens_both_deliver_and_no_token_shows_anywhere() {
    let fake = FakeDiscord::start();
    let platform = platform(&fake, Duration::from_secs(60));
    let first = codespace("codespace-a", &platform, "2s", KEY);
    let second = codespace("codespace-b", &platform, "2s", KEY);
    assert_ne!(first.token(), second.token());
    first.publish(2, 0);
    second.publish(3, 0);
    assert_eq!(fake.wait_for_embeds(5, DELIVERY).len(), 5);
    assert!(eventually(DELIVERY, || first.processed() == 2
        && second.processed() == 3));

    let sources = listed(&platform);
    assert_eq!(sources["count"], 2, "{sources}");
    let auth = format!("Bearer {KEY}");
    let metrics = request(
        platform.addr(),
        "GET",
        "/metrics",
        &[("Authorization", &auth)],
        None,
    );
    let health = request(platform.addr(), "GET", "/health", &[], None);
    assert_eq!((metrics.status, health.status), (200, 200));
    let logs = platform.logs();
    let serve_logs = [first.serve.stderr(), second.serve.stderr()].join("");
    let serve_output = [first.serve.stdout(), second.serve.stdout()].join("");
    assert!(serve_logs.contains("announced to"), "{serve_logs}");
    for secret in [first.token(), second.token(), KEY.to_string()] {
        for (what, text) in [
            ("consume's log", logs.as_str()),
            ("serve's log", serve_logs.as_str()),
            ("serve's output", serve_output.as_str()),
            ("/metrics", metrics.body.as_str()),
            ("/health", health.body.as_str()),
            ("GET /sources", &sources.to_string()),
        ] {
            assert!(!text.contains(&secret), "a secret in {what}: {text}");
        }
    }
}

#[test]
fn a_restarted_consumer_relearns_every_source_within_one_heartbeat() {
    let fake = FakeDiscord::start();
    let platform = platform(&fake, Duration::from_secs(60));
    let every = Duration::from_secs(3);
    let codespaces = [
        codespace("codespace-a", &platform, "3s", KEY),
        codespace("codespace-b", &platform, "3s", KEY),
    ];
    assert!(eventually(DELIVERY, || listed(&platform)["count"] == 2));

    // A restart (a deploy, a crash): the new process knows no source until each announces
    // itself again, and each serve sees it did not know it any more.
    platform.stop();
    let restarted = Instant::now();
    assert!(eventually(DELIVERY, || codespaces.iter().all(
        |codespace| codespace
            .serve
            .stderr()
            .contains("did not know this serve any more")
    )));
    let relearned = restarted.elapsed();
    // One heartbeat, and the time a loaded machine takes to answer.
    assert!(relearned < every + Duration::from_secs(5), "{relearned:?}");
    assert_eq!(listed(&platform)["count"], 2);
    assert_eq!(platform.starts(), 2);

    for codespace in &codespaces {
        codespace.publish(1, 1);
    }
    assert_eq!(fake.wait_for_embeds(2, DELIVERY).len(), 2);
}

#[test]
fn a_wrong_key_is_refused_nothing_is_registered_and_serve_says_so_once() {
    let fake = FakeDiscord::start();
    let platform = platform(&fake, Duration::from_secs(60));
    let codespace = codespace("codespace-a", &platform, "1s", "not-the-key-0123456789");
    codespace.publish(1, 0);
    assert!(eventually(DELIVERY, || codespace
        .serve
        .stderr()
        .contains("refused the announcement")));
    // Heartbeats go on, refused each time, said once.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(listed(&platform)["count"], 0);
    let stderr = codespace.serve.stderr();
    assert_eq!(
        stderr.matches("refused the announcement").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("(401)"), "{stderr}");
    assert!(fake.embeds().is_empty());
    assert_eq!(codespace.processed(), 0);
}

#[test]
fn nothing_is_lost_and_nothing_sent_twice_across_sleeps_and_wakes() {
    let fake = FakeDiscord::start();
    let platform = platform(&fake, IDLE);
    let codespaces = [
        codespace("codespace-a", &platform, "1h", KEY),
        codespace("codespace-b", &platform, "1h", KEY),
    ];
    const ROUNDS: usize = 3;
    const EACH: usize = 8;
    for round in 0..ROUNDS {
        for codespace in &codespaces {
            codespace.publish(EACH, round);
        }
        let expected = (round + 1) * EACH * codespaces.len();
        assert_eq!(fake.wait_for_embeds(expected, DELIVERY).len(), expected);
        assert!(platform.wait_until_asleep(DELIVERY), "round {round}");
    }
    assert_eq!(platform.starts(), ROUNDS, "{:?}", platform.history());
    let seen = delivered(&fake);
    assert_eq!(seen.len(), ROUNDS * EACH * codespaces.len(), "nothing lost");
    assert!(
        seen.values().all(|count| *count == 1),
        "nothing twice: {seen:?}"
    );
    for codespace in &codespaces {
        assert!(eventually(DELIVERY, || codespace.processed() == (ROUNDS * EACH) as u64));
    }
}
