//! `dq serve --announce` (issue 8, serve side) against a fake consumer that records what it
//! receives: what an announcement carries, when serve announces (start, heartbeat, the wake
//! when events wait unclaimed, retries) and when it does not, what it logs, and the usage
//! errors. `tests/fleet.rs` runs the real consumer on the simulated hosting platform.
#![allow(clippy::unwrap_used)]

mod support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_consumer::{FakeConsumer, Received, Reply};
use support::serve::{eventually, publish, Serve};
use support::TempDb;

const KEY: &str = "announce-test-key-0123456789";
const PUBLIC_URL: &str = "https://serve.example:8443";
/// Generous: a loaded 2-core machine is slow, and nothing here waits for it on success.
const SOON: Duration = Duration::from_secs(30);

/// `dq serve --announce <consumer> --announce-key KEY --public-url PUBLIC_URL <extra>`.
fn serve(db: &TempDb, consumer: &FakeConsumer, extra: &[&str]) -> Serve {
    let url = consumer.url();
    let mut args = vec![
        "--announce",
        url.as_str(),
        "--announce-key",
        KEY,
        "--public-url",
        PUBLIC_URL,
    ];
    args.extend_from_slice(extra);
    Serve::start(db, &args)
}

/// The gaps between consecutive requests, in milliseconds.
fn gaps(received: &[Received]) -> Vec<u128> {
    received
        .windows(2)
        .map(|pair| (pair[1].at - pair[0].at).as_millis())
        .collect()
}

fn no_secret_in(text: &str, serve: &Serve) {
    assert!(!text.contains(KEY), "the key shows: {text}");
    let token = serve.token.as_deref().unwrap();
    assert!(!text.contains(token), "the token shows: {text}");
}

#[test]
fn serve_announces_its_url_token_and_name_at_start_with_the_key() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let serve = serve(&db, &consumer, &["--announce-every", "1h"]);
    let received = consumer.wait_for(1, SOON);
    let first = &received[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("POST", "/sources")
    );
    assert_eq!(
        first.authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    let body = first.json();
    assert_eq!(body["url"], PUBLIC_URL);
    assert_eq!(body["token"].as_str(), serve.token.as_deref());
    assert!(
        body["name"].as_str().is_some_and(|name| !name.is_empty()),
        "{body}"
    );
    assert!(eventually(SOON, || serve.stderr().contains(&format!(
        "dq serve: announced to {} as {PUBLIC_URL} (registered)",
        consumer.url()
    ))));
    let stderr = serve.stderr();
    assert!(stderr.contains("every 1h"), "{stderr}");
    no_secret_in(&stderr, &serve);
    no_secret_in(&serve.stdout(), &serve);
}

#[test]
fn in_a_codespace_the_public_url_is_the_forwarded_port_and_the_name_the_codespace() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let url = consumer.url();
    let serve = Serve::start_with(
        &db,
        &["--announce", &url, "--announce-key", KEY],
        &[
            ("CODESPACE_NAME", "fluffy-space-doodle-1234"),
            ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
        ],
    );
    let body = consumer.wait_for(1, SOON)[0].json();
    let port = serve.addr.port();
    assert_eq!(
        body["url"],
        format!("https://fluffy-space-doodle-1234-{port}.app.github.dev")
    );
    assert_eq!(body["name"], "fluffy-space-doodle-1234");
    let stderr = serve.stderr();
    assert!(
        stderr.contains(&format!("gh codespace ports visibility {port}:public")),
        "{stderr}"
    );
}

#[test]
fn with_nothing_due_serve_announces_only_at_each_heartbeat() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let _serve = serve(&db, &consumer, &["--announce-every", "1s"]);
    let received = consumer.wait_for(5, SOON);
    assert!(received.len() >= 5);
    let gaps = gaps(&received);
    assert!(gaps.iter().all(|gap| *gap >= 950), "{gaps:?}");
    assert_eq!(received[0].json()["url"], received[4].json()["url"]);
}

#[test]
fn an_event_nobody_claims_wakes_the_consumer_and_the_wake_stops_once_it_is_claimed() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let serve = serve(&db, &consumer, &["--announce-every", "1h"]);
    consumer.wait_for(1, SOON);
    // Nothing due: quiet between heartbeats.
    thread::sleep(Duration::from_secs(2));
    assert_eq!(consumer.count(), 1);

    let published = Instant::now();
    let ids = publish(&db, 1);
    let received = consumer.wait_for(2, SOON);
    assert_eq!(received.len(), 2, "the wake");
    assert!(received[1].at >= published);
    assert_eq!(
        received[1].json(),
        received[0].json(),
        "the same announcement"
    );

    let claimed = serve.claim("limit=10&lease=60");
    assert_eq!(support::serve::ids(&claimed), ids);
    let acked = serve.ack(json!([{"id": ids[0], "status": "processed"}]));
    assert_eq!(acked.status, 200, "{acked:?}");
    // Unclaimed, the next ring would come 5 s after the first; claimed, there is none.
    thread::sleep(Duration::from_secs(7));
    assert_eq!(consumer.count(), 2, "{:?}", gaps(&consumer.received()));
}

#[test]
fn events_that_stay_unclaimed_ring_again_at_growing_gaps() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    publish(&db, 3);
    let _serve = serve(&db, &consumer, &["--announce-every", "1h"]);
    // At start, then the wake 5 s after it (not sooner: the consumer has just been told),
    // then 10 s later.
    let received = consumer.wait_for(3, SOON * 2);
    assert_eq!(received.len(), 3);
    let gaps = gaps(&received);
    assert!(gaps[0] >= 4_500, "{gaps:?}");
    assert!(gaps[1] >= 9_500, "{gaps:?}");
}

#[test]
fn a_lease_that_ends_unacknowledged_makes_events_due_and_wakes_the_consumer() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let serve = serve(&db, &consumer, &["--announce-every", "1h"]);
    consumer.wait_for(1, SOON);
    let ids = publish(&db, 1);
    let claimed = Instant::now();
    assert_eq!(support::serve::ids(&serve.claim("limit=10&lease=3")), ids);
    // Nothing is written when the lease ends: the rule looks at that time by itself.
    let received = consumer.wait_for(2, SOON);
    assert_eq!(received.len(), 2);
    assert!(
        received[1].at >= claimed + Duration::from_secs(3),
        "not while the lease holds"
    );
}

#[test]
fn a_consumer_at_work_is_not_woken() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let serve = serve(&db, &consumer, &["--announce-every", "1h"]);
    consumer.wait_for(1, SOON);
    let serve = std::sync::Arc::new(serve);
    let working = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let worker = {
        let (serve, working) = (
            std::sync::Arc::clone(&serve),
            std::sync::Arc::clone(&working),
        );
        thread::spawn(move || {
            let mut delivered = 0;
            while working.load(std::sync::atomic::Ordering::SeqCst) {
                let ids = support::serve::ids(&serve.claim("limit=10&lease=60&wait=2"));
                let acks: Vec<_> = ids
                    .iter()
                    .map(|id| json!({"id": id, "status": "processed"}))
                    .collect();
                if !acks.is_empty() {
                    assert_eq!(serve.ack(json!(acks)).status, 200);
                }
                delivered += ids.len();
            }
            delivered
        })
    };
    for _ in 0..20 {
        publish(&db, 1);
        thread::sleep(Duration::from_millis(300));
    }
    assert!(eventually(SOON, || serve.stats()["processed"] == 20));
    working.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(worker.join().unwrap(), 20);
    assert_eq!(consumer.count(), 1, "{:?}", gaps(&consumer.received()));
}

#[test]
fn a_refused_key_is_said_once_and_tried_again_at_each_heartbeat_not_sooner() {
    let consumer = FakeConsumer::replying(Reply::Status(401));
    let db = TempDb::new();
    publish(&db, 1);
    let serve = serve(&db, &consumer, &["--announce-every", "1s"]);
    let received = consumer.wait_for(4, SOON);
    let gaps = gaps(&received);
    assert!(gaps.iter().all(|gap| *gap >= 950), "{gaps:?}");
    let stderr = serve.stderr();
    assert_eq!(
        stderr.matches("refused the announcement").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("(401)") && stderr.contains("--announce-key"),
        "{stderr}"
    );
    no_secret_in(&stderr, &serve);

    // Fixed on the consumer's side: said once too.
    consumer.reply(Reply::Accept);
    assert!(eventually(SOON, || serve
        .stderr()
        .contains("accepts the announcement now")));
}

#[test]
fn a_failing_consumer_is_retried_with_backoff_and_said_once_down_and_once_back() {
    let consumer = FakeConsumer::start();
    consumer.queue(&[Reply::Status(503), Reply::Status(502), Reply::Status(500)]);
    let db = TempDb::new();
    let serve = serve(&db, &consumer, &["--announce-every", "1h"]);
    let received = consumer.wait_for(4, SOON);
    let gaps = gaps(&received);
    assert!(
        gaps[0] >= 950 && gaps[1] >= 1_950 && gaps[2] >= 3_950,
        "1, 2, 4 s: {gaps:?}"
    );
    assert!(eventually(SOON, || serve
        .stderr()
        .contains("answers again")));
    let stderr = serve.stderr();
    assert_eq!(stderr.matches("cannot announce to").count(), 1, "{stderr}");
    assert!(stderr.contains("HTTP 503: the fake says 503"), "{stderr}");
    assert_eq!(stderr.matches("answers again").count(), 1, "{stderr}");
}

#[test]
fn an_unreachable_consumer_is_said_once_and_serving_goes_on() {
    // A port nothing listens on.
    let port = support::serve::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let db = TempDb::new();
    let serve = Serve::start(
        &db,
        &[
            "--announce",
            &url,
            "--announce-key",
            KEY,
            "--public-url",
            PUBLIC_URL,
        ],
    );
    assert!(eventually(SOON, || serve
        .stderr()
        .contains("cannot announce to")));
    let ids = publish(&db, 2);
    assert_eq!(support::serve::ids(&serve.claim("limit=10")), ids);
    // Retries at 1, 2, 4 s have come and gone: still one line.
    thread::sleep(Duration::from_secs(4));
    let stderr = serve.stderr();
    assert_eq!(stderr.matches("cannot announce to").count(), 1, "{stderr}");
    assert!(stderr.contains("nothing answers there"), "{stderr}");
}

#[test]
fn a_consumer_that_never_answers_slows_neither_publishing_nor_serving() {
    let consumer = FakeConsumer::replying(Reply::Hang);
    let db = TempDb::new();
    let serve = serve(&db, &consumer, &["--announce-every", "1s"]);
    consumer.wait_for(1, SOON);
    let ids = publish(&db, 5);
    assert_eq!(serve.get("/discord/health").status, 200);
    assert_eq!(support::serve::ids(&serve.claim("limit=10")), ids);
    // The announcement in flight still waits for its answer: no second one piles up.
    thread::sleep(Duration::from_secs(2));
    assert_eq!(consumer.count(), 1);
}

#[test]
fn consumers_comma_separated_in_the_environment_are_each_announced_to() {
    let (first, second) = (FakeConsumer::start(), FakeConsumer::start());
    let db = TempDb::new();
    let list = format!("{},{}/", first.url(), second.url());
    let serve = Serve::start_with(
        &db,
        &[],
        &[
            ("DQ_ANNOUNCE", &list),
            ("DQ_ANNOUNCE_KEY", KEY),
            ("DQ_PUBLIC_URL", PUBLIC_URL),
            ("DQ_ANNOUNCE_EVERY", "2s"),
        ],
    );
    for consumer in [&first, &second] {
        let received = consumer.wait_for(2, SOON);
        assert_eq!(received[0].json()["token"].as_str(), serve.token.as_deref());
        assert!(gaps(&received)[0] >= 1_950);
    }
}

#[test]
fn the_config_file_can_hold_the_announce_settings() {
    let consumer = FakeConsumer::start();
    let db = TempDb::new();
    let config = db.dir.path().join("config.toml");
    for (key, value) in [
        ("announce", consumer.url()),
        ("announce-key", KEY.to_string()),
        ("public-url", PUBLIC_URL.to_string()),
    ] {
        let output = support::dq()
            .arg("--config")
            .arg(&config)
            .args(["config", "set", key, &value])
            .output()
            .unwrap();
        assert!(output.status.success(), "{key}: {output:?}");
    }
    let config = config.to_str().unwrap();
    let serve = Serve::start_with(&db, &[], &[("DQ_CONFIG", config)]);
    let body = consumer.wait_for(1, SOON)[0].json();
    assert_eq!(body["url"], PUBLIC_URL);
    assert_eq!(body["token"].as_str(), serve.token.as_deref());
}

#[test]
fn an_empty_announce_variable_means_no_announcing() {
    let db = TempDb::new();
    let serve = Serve::start_with(&db, &[], &[("DQ_ANNOUNCE", ""), ("DQ_ANNOUNCE_KEY", KEY)]);
    assert_eq!(serve.get("/discord/health").status, 200);
    assert!(!serve.stderr().contains("announc"), "{}", serve.stderr());
}

/// Arguments, environment, and what the error must say.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn announcing_without_what_it_needs_is_a_usage_error_before_anything_starts() {
    let consumer = "https://consumer.example";
    let cases: &[Case] = &[
        (
            &["--announce", consumer, "--public-url", PUBLIC_URL],
            &[],
            "--announce needs --announce-key",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                " ",
                "--public-url",
                PUBLIC_URL,
            ],
            &[],
            "--announce needs --announce-key",
        ),
        (
            &["--announce", consumer, "--announce-key", KEY],
            &[],
            "--announce needs --public-url",
        ),
        // Half a Codespace's variables is not a Codespace.
        (
            &["--announce", consumer, "--announce-key", KEY],
            &[("CODESPACE_NAME", "x")],
            "--announce needs --public-url",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                KEY,
                "--public-url",
                PUBLIC_URL,
                "--no-auth",
            ],
            &[],
            "cannot be used with --no-auth",
        ),
        (
            &[
                "--announce",
                "consumer.example",
                "--announce-key",
                KEY,
                "--public-url",
                PUBLIC_URL,
            ],
            &[],
            "--announce",
        ),
        (
            &[
                "--announce",
                "https://user:secret-pass@consumer.example",
                "--announce-key",
                KEY,
                "--public-url",
                PUBLIC_URL,
            ],
            &[],
            "user name or password",
        ),
        (
            &[
                "--announce",
                "ftp://consumer.example",
                "--announce-key",
                KEY,
                "--public-url",
                PUBLIC_URL,
            ],
            &[],
            "https://",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                KEY,
                "--public-url",
                "serve.example",
            ],
            &[],
            "--public-url",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                KEY,
                "--public-url",
                "https://a:b@serve.example",
            ],
            &[],
            "--public-url",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                "bad\u{7}key",
                "--public-url",
                PUBLIC_URL,
            ],
            &[],
            "--announce-key must be printable",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                KEY,
                "--public-url",
                PUBLIC_URL,
                "--announce-every",
                "0s",
            ],
            &[],
            "--announce-every",
        ),
        (
            &[
                "--announce",
                consumer,
                "--announce-key",
                KEY,
                "--public-url",
                PUBLIC_URL,
                "--announce-every",
                "5x",
            ],
            &[],
            "--announce-every",
        ),
    ];
    for (args, env, expected) in cases {
        let db = TempDb::new();
        let mut command = db.dq();
        command.args(["serve", "--bind", "127.0.0.1:0"]).args(*args);
        for (name, value) in *env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("secret-pass"), "{stderr}");
        assert!(!stderr.contains("listening"), "{stderr}");
        assert!(!db.path.exists(), "{args:?}: the database was created");
    }
}
