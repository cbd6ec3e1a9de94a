//! `dq consume` on the wire of issue 11: it claims with `POST /discord/events/claim` and
//! acknowledges a whole message's events in one `POST /discord/events/ack`; against a serve
//! from before those routes (a JSON 404) or the original Flask API (an HTML 404) it falls back
//! to `GET /discord/events?lease=` and one mark per event, and remembers that per source.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::discord::{Config, FakeDiscord};
use support::serve::{eventually, Serve};
use support::source::{FakeSource, Mode};
use support::SpawnRunning;
use support::TempDb;

const TOKEN: &str = "protocol-test-token";

/// `dq_http_requests_total` of a serve, by route (all statuses added up).
fn requests_by_route(serve: &Serve) -> Vec<(String, u64)> {
    let metrics = serve.get("/discord/metrics");
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let mut routes: Vec<(String, u64)> = Vec::new();
    for line in metrics.body.lines() {
        let Some(rest) = line.strip_prefix("dq_http_requests_total{route=\"") else {
            continue;
        };
        let route = rest.split('"').next().unwrap().to_string();
        let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        match routes.iter_mut().find(|(known, _)| *known == route) {
            Some((_, total)) => *total += count,
            None => routes.push((route, count)),
        }
    }
    routes
}

fn count(routes: &[(String, u64)], route: &str) -> u64 {
    routes
        .iter()
        .find(|(known, _)| known == route)
        .map_or(0, |(_, count)| *count)
}

fn consume_once(sources: &[String], sink: &[&str]) -> std::process::Output {
    let mut command = support::dq();
    command
        .args(["consume", "--once", "--token", TOKEN])
        .args(sink);
    for source in sources {
        command.args(["--source", source]);
    }
    command.output().unwrap()
}

#[test]
fn consume_claims_with_post_and_acknowledges_a_whole_message_in_one_request() {
    let db = TempDb::new();
    support::serve::publish(&db, 10);
    let serve = Serve::start(&db, &["--token", TOKEN]);
    let fake = FakeDiscord::start();
    let output = consume_once(
        &[format!("http://{}", serve.addr)],
        &["--webhook", &fake.webhook_url()],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(fake.messages().len(), 1, "ten events, one message");
    assert_eq!(fake.embeds().len(), 10);
    let routes = requests_by_route(&serve);
    assert!(count(&routes, "claim") >= 1, "{routes:?}");
    assert_eq!(count(&routes, "ack"), 1, "one acknowledgement: {routes:?}");
    for old in ["events", "event_processed", "event_failed"] {
        assert_eq!(count(&routes, old), 0, "{old}: {routes:?}");
    }
    assert_eq!(serve.stats()["processed"], 10);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("no POST /discord/events/claim"),
        "{stderr}"
    );
}

#[test]
fn consume_acknowledges_each_failure_with_its_own_reason_in_the_batch() {
    let db = TempDb::new();
    support::serve::publish(&db, 4);
    let serve = Serve::start(&db, &["--token", TOKEN]);
    let fake = FakeDiscord::with(Config {
        unknown_webhook: true,
        ..Config::default()
    });
    let output = consume_once(
        &[format!("http://{}", serve.addr)],
        &["--webhook", &fake.webhook_url()],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(count(&requests_by_route(&serve), "ack"), 1);
    let failed = serve.get("/discord/failed");
    let failed: Vec<Value> = failed.json()["events"].as_array().unwrap().clone();
    assert_eq!(failed.len(), 4, "permanent: dead-lettered at once");
    for event in failed {
        let reason = event["error_message"].as_str().unwrap();
        assert!(reason.contains("10015"), "{reason}");
    }
}

#[test]
fn against_a_serve_from_before_the_claim_route_consume_falls_back_and_remembers_it() {
    // A JSON 404 for the new routes, leases on GET: the serve before issue 11.
    let old = FakeSource::start(Mode::Api).with_leases();
    // And a serve of today next to it, in the same consumer.
    let db = TempDb::new();
    let serve = Serve::start(&db, &["--token", TOKEN]);
    for id in 1..=12 {
        old.add(id, "job_done", json!({"n": id}));
    }
    support::serve::publish(&db, 5);
    let fake = FakeDiscord::start();
    let child = support::dq()
        .args([
            "consume",
            "--token",
            TOKEN,
            "--webhook",
            &fake.webhook_url(),
        ])
        // No long polls: serve's metrics label a parked claim's answer "events" (its lobby
        // does not know the route), which this test must tell apart from a GET.
        .args(["--wait", "0", "--poll", "1"])
        .args(["--source", &old.url()])
        .args(["--source", &format!("http://{}", serve.addr)])
        .stderr(Stdio::piped())
        .running();
    assert!(eventually(Duration::from_secs(30), || old
        .processed()
        .len()
        == 12));
    assert!(eventually(Duration::from_secs(30), || {
        serve.stats()["processed"] == 5
    }));
    // A few more polls, to see that the claim route is not asked for again.
    std::thread::sleep(Duration::from_millis(2500));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());

    // Each new route asked for once (404), then the older ones only.
    assert_eq!(old.requests_to("POST", "/discord/events/claim").len(), 1);
    assert_eq!(old.requests_to("POST", "/discord/events/ack").len(), 1);
    assert!(old.requests_to("GET", "/discord/events").len() >= 3);
    let marks = old
        .requests()
        .iter()
        .filter(|request| request.url.ends_with("/processed"))
        .count();
    assert_eq!(marks, 12, "one mark per event");
    let routes = requests_by_route(&serve);
    assert_eq!(
        count(&routes, "events") + count(&routes, "event_processed"),
        0,
        "{routes:?}"
    );
    assert!(count(&routes, "ack") >= 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("no POST /discord/events/claim").count(),
        1,
        "{stderr}"
    );
    assert_eq!(fake.embeds().len(), 17);
}

#[test]
fn against_the_original_flask_api_consume_falls_back_on_its_html_404() {
    let flask = FakeSource::start(Mode::Api).like_flask();
    flask.add(
        7,
        "backup_error",
        json!({"error_type": "backup_upload", "error_message": "x"}),
    );
    flask.add(8, "job_done", json!({}));
    let fake = FakeDiscord::start();
    let output = consume_once(&[flask.url()], &["--webhook", &fake.webhook_url()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(flask.processed(), vec![7, 8]);
    assert_eq!(flask.requests_to("POST", "/discord/events/claim").len(), 1);
    assert!(!flask.requests_to("GET", "/discord/events").is_empty());
    assert_eq!(fake.embeds().len(), 2);
}

#[test]
fn outcomes_that_could_not_be_recorded_are_kept_and_sent_in_one_batch_later() {
    let source = FakeSource::start(Mode::Api).with_new_routes();
    // Direct messages carry one event each: five messages, five acknowledgements, all refused.
    for id in 1..=5 {
        source.add_for(id, &format!("{id}00"), "job_done", json!({"n": id}));
    }
    source.fail_acks(5);
    let fake = FakeDiscord::start();
    let output = consume_once(
        &[source.url()],
        &["--bot-token", "bot", "--discord-api", &fake.api()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(source.processed(), vec![1, 2, 3, 4, 5]);
    let acks = source.requests_to("POST", "/discord/events/ack");
    assert_eq!(acks.len(), 6, "five refused, then one");
    let last = &acks[5].body["events"];
    assert_eq!(last.as_array().unwrap().len(), 5, "{last}");
    assert_eq!(
        stderr.matches("could not record the outcome").count(),
        1,
        "{stderr}"
    );
    assert_eq!(fake.messages().len(), 5, "nothing sent twice");
}
