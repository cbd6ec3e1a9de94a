//! `dq consume` against HTTP sources: fake sources that answer like the original Flask API (or
//! a login page), and a source that is down.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::discord::FakeDiscord;
use support::dq;
use support::source::{FakeSource, Mode};
use support::SpawnRunning;

/// A port nothing listens on.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn consume_marks_each_event_on_the_source_it_came_from() {
    let fake = FakeDiscord::start();
    let first = FakeSource::start(Mode::Api);
    let second = FakeSource::start(Mode::Api);
    first.add(1, "job_done", json!({"from": "first"}));
    second.add(1, "job_done", json!({"from": "second"}));
    second.add(2, "job_done", json!({"from": "second"}));
    let output = dq()
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .args(["--source", &first.url(), "--source", &second.url()])
        .args(["--token", "tok", "--header", "X-Github-Token: gh"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(first.processed(), vec![1]);
    assert_eq!(second.processed(), vec![1, 2]);
    assert_eq!(fake.embeds().len(), 3);
    // The original API has no claim route (404): consume falls back to its GET.
    let requests = first.requests();
    assert_eq!(requests[0].method, "POST");
    assert!(
        requests[0]
            .url
            .starts_with("/discord/events/claim?limit=10&lease=60&wait=0"),
        "{}",
        requests[0].url
    );
    let claim = &requests[1];
    assert_eq!(claim.method, "GET");
    assert!(
        claim
            .url
            .starts_with("/discord/events?limit=10&lease=60&wait=0"),
        "{}",
        claim.url
    );
    let header = |name: &str| claim.header(name);
    assert_eq!(header("Authorization").as_deref(), Some("Bearer tok"));
    assert_eq!(header("X-Github-Token").as_deref(), Some("gh"));
}

#[test]
fn consume_keeps_delivering_from_one_source_while_another_is_down() {
    let fake = FakeDiscord::start();
    let up = FakeSource::start(Mode::Api).with_leases();
    let down = closed_port_url();
    let child = dq()
        .args([
            "consume",
            "--webhook",
            &fake.webhook_url(),
            "--wait",
            "1",
            "--poll",
            "1",
        ])
        .args(["--source", &down, "--source", &up.url()])
        .stderr(Stdio::piped())
        .running();
    up.add(1, "job_done", json!({"n": 1}));
    wait_until("the first event", || up.processed() == vec![1]);
    up.add(2, "job_done", json!({"n": 2}));
    wait_until("the second event", || up.processed() == vec![1, 2]);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing answers there"), "{stderr}");
    assert!(stderr.contains("retrying in"), "{stderr}");
}

#[test]
fn consume_explains_a_login_page_in_front_of_a_private_port() {
    let fake = FakeDiscord::start();
    for mode in [Mode::LoginRedirect, Mode::Html] {
        let source = FakeSource::start(mode);
        let output = dq()
            .args(["consume", "--once", "--webhook", &fake.webhook_url()])
            .args(["--source", &source.url()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("X-Github-Token"), "{stderr}");
        assert!(!stderr.contains("secret-path"), "URLs are masked: {stderr}");
    }
}

#[test]
fn consume_reports_permanent_failures_to_the_source_as_not_retryable() {
    let fake = FakeDiscord::with(support::discord::Config {
        unknown_webhook: true,
        ..Default::default()
    });
    let source = FakeSource::start(Mode::Api);
    source.add(5, "job_done", json!({}));
    let output = dq()
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .args(["--source", &source.url()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let failed = source.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, 5);
    assert_eq!(failed[0].1["retryable"], false);
    assert_eq!(
        failed[0].1["error_message"],
        "discord 404 (code 10015): Unknown Webhook"
    );
}

#[test]
fn consume_falls_back_to_polling_a_source_that_answers_at_once() {
    let fake = FakeDiscord::start();
    let source = FakeSource::start(Mode::Api);
    let child = dq()
        .args([
            "consume",
            "--webhook",
            &fake.webhook_url(),
            "--wait",
            "25",
            "--poll",
            "1",
        ])
        .args(["--source", &source.url()])
        .stderr(Stdio::null())
        .running();
    std::thread::sleep(Duration::from_millis(2500));
    source.add(1, "job_done", json!({}));
    wait_until("the polled event", || source.processed() == vec![1]);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let claims = source
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .count();
    // About one claim a second, not a busy loop against a source that ignores `wait`.
    assert!((2..=15).contains(&claims), "{claims} claims");
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn consume_reads_answers_far_larger_than_its_connection_buffers() {
    let fake = FakeDiscord::start();
    let source = FakeSource::start(Mode::Api);
    // Ten events of 60 KiB each: a 600 KiB answer through a 16 KiB buffer.
    for id in 1..=10 {
        source.add(id, "job_done", json!({"text": "x".repeat(60 * 1024)}));
    }
    let output = dq()
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .args(["--source", &source.url()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(source.processed(), (1..=10).collect::<Vec<_>>());
}
