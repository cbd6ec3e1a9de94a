//! `dq consume` against the real `dq serve`: leases keep two consumers apart, long polls bring
//! events in at once, and outcomes are recorded on the server.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::discord::{Config, FakeDiscord};
use support::serve::{eventually, Serve};
use support::TempDb;
use support::{Running, SpawnRunning};

const TOKEN: &str = "consume-test-token";

fn consumer(serve: &Serve, fake: &FakeDiscord, extra: &[&str]) -> Running {
    support::dq()
        .args(["consume", "--source", &format!("http://{}", serve.addr)])
        .args(["--token", TOKEN, "--webhook", &fake.webhook_url()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .running()
}

fn terminate(child: Running) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn two_consumers_on_one_serve_never_deliver_the_same_event_twice() {
    let db = TempDb::new();
    support::serve::publish(&db, 60);
    let serve = Serve::start(&db, &["--token", TOKEN]);
    let fake = FakeDiscord::start();
    let first = consumer(&serve, &fake, &["--wait", "1"]);
    let second = consumer(&serve, &fake, &["--wait", "1"]);
    let embeds = fake.wait_for_embeds(60, Duration::from_secs(60));
    assert_eq!(embeds.len(), 60);
    // Let any duplicate that was going to happen happen.
    std::thread::sleep(Duration::from_millis(1500));
    terminate(first);
    terminate(second);
    let embeds = fake.embeds();
    let distinct: HashSet<String> = embeds.iter().map(Value::to_string).collect();
    assert_eq!(embeds.len(), 60, "no event delivered twice");
    assert_eq!(distinct.len(), 60);
    assert!(eventually(Duration::from_secs(10), || {
        serve.stats()["processed"] == 60
    }));
}

#[test]
fn consume_long_polls_serve_and_delivers_a_new_event_without_waiting_for_a_poll() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &["--token", TOKEN]);
    let fake = FakeDiscord::start();
    // --poll 60: only the long poll can bring the event in within the deadline below.
    let child = consumer(&serve, &fake, &["--wait", "25", "--poll", "60"]);
    std::thread::sleep(Duration::from_millis(500));
    let published = Instant::now();
    support::serve::publish(&db, 1);
    let embeds = fake.wait_for_embeds(1, Duration::from_secs(20));
    assert_eq!(embeds.len(), 1);
    assert!(published.elapsed() < Duration::from_secs(20));
    terminate(child);
}

#[test]
fn consume_records_discords_reason_on_serve_when_dms_are_closed() {
    let db = TempDb::new();
    let id = {
        let output = db
            .dq()
            .args(["publish", "--user-id", "42", "test"])
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let serve = Serve::start(&db, &["--token", TOKEN]);
    let fake = FakeDiscord::with(Config {
        closed_dms: vec!["42".into()],
        ..Config::default()
    });
    let output = support::dq()
        .args([
            "consume",
            "--once",
            "--source",
            &format!("http://{}", serve.addr),
        ])
        .args([
            "--token",
            TOKEN,
            "--bot-token",
            "b",
            "--discord-api",
            &fake.api(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let failed = db.dq().args(["failed", "--json"]).output().unwrap();
    let text = String::from_utf8(failed.stdout).unwrap();
    assert!(text.contains("50007") && text.contains(&id), "{text}");
}
