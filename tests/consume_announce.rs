//! `dq consume --announce-key`: sources announce themselves (`POST /sources`) with their own
//! token and are delivered from at once; `GET /sources` lists them without tokens; wrong keys,
//! bad URLs and oversized bodies are refused; a source that is down is retried quietly and a
//! silent one forgotten. Also: static sources with their own tokens, and the `PORT` rule.
//! Real binaries (`dq serve`, `dq consume`) on 127.0.0.1, the fake Discord in-process.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::consume::{request, Consume};
use support::discord::FakeDiscord;
use support::hostile;
use support::serve::{eventually, free_port, Serve};
use support::source::{FakeSource, Mode};
use support::TempDb;

const KEY: &str = "announce-key-for-tests-0123456789";

fn announcer(fake: &FakeDiscord, extra: &[&str]) -> Consume {
    let webhook = fake.webhook_url();
    let mut args = vec!["--announce-key", KEY, "--webhook", &webhook, "--wait", "2"];
    args.extend_from_slice(extra);
    Consume::start(&args)
}

fn announcement(url: &str, token: Option<&str>, name: &str) -> String {
    json!({"url": url, "token": token, "name": name}).to_string()
}

fn announce(consume: &Consume, url: &str, token: Option<&str>, name: &str) -> Value {
    let answer = consume.call(
        "POST",
        "/sources",
        Some(KEY),
        Some(&announcement(url, token, name)),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()
}

fn sources(consume: &Consume) -> Vec<Value> {
    let answer = consume.call("GET", "/sources", Some(KEY), None);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["sources"].as_array().unwrap().clone()
}

fn serve_url(serve: &Serve) -> String {
    format!("http://{}", serve.addr)
}

#[test]
fn an_announced_source_delivers_at_once_and_is_listed_without_its_token() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    let token = serve.token.clone().unwrap();
    let fake = FakeDiscord::start();
    let mut consume = announcer(&fake, &["--allow-http-sources"]);
    assert!(sources(&consume).is_empty());

    let answer = announce(&consume, &serve_url(&serve), Some(&token), "codespace-a");
    assert_eq!(answer["status"], "registered");
    assert_eq!(answer["url"], serve_url(&serve));
    support::serve::publish(&db, 3);
    assert_eq!(fake.wait_for_embeds(3, Duration::from_secs(20)).len(), 3);

    assert!(eventually(Duration::from_secs(10), || {
        sources(&consume)[0]["delivered"] == 3
    }));
    let listed = sources(&consume);
    assert_eq!(listed.len(), 1);
    let source = &listed[0];
    assert_eq!(source["url"], serve_url(&serve));
    assert_eq!(source["name"], "codespace-a");
    assert_eq!(source["origin"], "announced");
    assert_eq!(source["state"], "delivering");
    assert_eq!(source["announcements"], 1);
    assert!(source["announced_at"].is_string() && source["last_delivery_at"].is_string());
    assert_eq!(
        announce(&consume, &serve_url(&serve), Some(&token), "a")["status"],
        "refreshed"
    );
    assert_eq!(sources(&consume)[0]["announcements"], 2);

    // Health is open and names no source; metrics and the list need the key.
    let health = consume.call("GET", "/health", None, None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["sources"], 1);
    assert!(!health.body.contains("127.0.0.1"), "{}", health.body);
    assert_eq!(consume.call("GET", "/metrics", None, None).status, 401);
    let metrics = consume.call("GET", "/metrics", Some(KEY), None);
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .body
        .contains("dq_consume_delivered_total{source=\"http://127.0.0.1"));
    assert!(metrics
        .body
        .contains("dq_consume_announcements_total{outcome=\"accepted\"} 2"));
    for text in [
        health.body,
        metrics.body,
        consume.call("GET", "/sources", Some(KEY), None).body,
        consume.stderr(),
    ] {
        assert!(!text.contains(&token), "a token in {text}");
    }
    assert_eq!(consume.terminate().code(), Some(0));
}

#[test]
fn a_wrong_or_missing_key_is_refused_and_registers_nothing() {
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &["--allow-http-sources"]);
    let body = announcement("http://127.0.0.1:9", Some("t"), "x");
    let wrong = format!("Bearer {KEY}x");
    let short = format!("Bearer {}", &KEY[..KEY.len() - 1]);
    let basic = format!("Basic {KEY}");
    for headers in [
        vec![],
        vec![("Authorization", wrong.as_str())],
        vec![("Authorization", short.as_str())],
        vec![("Authorization", basic.as_str())],
        vec![("Authorization", "Bearer")],
    ] {
        for (method, body) in [("POST", Some(body.as_str())), ("GET", None)] {
            let answer = request(consume.addr, method, "/sources", &headers, body);
            assert_eq!(answer.status, 401, "{method} {headers:?}: {answer:?}");
            assert_eq!(answer.json()["success"], false);
            assert!(answer.header("www-authenticate").is_some());
            assert!(!answer.body.contains(KEY));
        }
    }
    assert!(sources(&consume).is_empty());
    let metrics = consume.call("GET", "/metrics", Some(KEY), None).body;
    assert!(metrics.contains("dq_consume_announcements_total{outcome=\"unauthorized\"} 5"));
    assert!(!consume.stderr().contains("announced itself"));
}

#[test]
fn bad_announcements_get_clear_errors_and_change_nothing() {
    let fake = FakeDiscord::start();
    // No --allow-http-sources here: plain http is refused.
    let consume = announcer(&fake, &[]);
    let long = format!("https://h/{}", "a".repeat(3000));
    let cases: Vec<(String, u16, &str)> = vec![
        (
            announcement("http://127.0.0.1:9", None, ""),
            400,
            "--allow-http-sources",
        ),
        (
            announcement("https://user:SECRETPW@h", None, ""),
            400,
            "user name",
        ),
        (announcement("ftp://h", None, ""), 400, "https://"),
        (
            announcement("https://169.254.169.254", None, ""),
            400,
            "link-local",
        ),
        (
            announcement("https://127.0.0.1:8443", None, ""),
            400,
            "loopback",
        ),
        (announcement("https://", None, ""), 400, "not a valid URL"),
        (announcement("https://h/?k=SECRETQ", None, ""), 400, "query"),
        (announcement(&long, None, ""), 400, "longer than"),
        (announcement("", None, ""), 400, "empty"),
        (
            announcement("https://h", Some("two words"), ""),
            400,
            "printable",
        ),
        (json!({"token": "SECRETTOKEN"}).to_string(), 400, "missing"),
        (
            json!({"url": 5, "token": "SECRETTOKEN"}).to_string(),
            400,
            "wrong type",
        ),
        ("not json SECRETTOKEN".into(), 400, "not valid JSON"),
        (String::new(), 400, "ends too early"),
        (
            announcement(&format!("https://h/{}", "a".repeat(9000)), None, ""),
            413,
            "at most",
        ),
    ];
    for (body, status, says) in &cases {
        let answer = consume.call("POST", "/sources", Some(KEY), Some(body));
        assert_eq!(answer.status, *status, "{body:.80}: {answer:?}");
        let error = answer.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(says), "{body:.80}: {error}");
        assert!(!error.contains("SECRET"), "{error}");
    }
    // Wrong methods and routes: JSON errors too.
    assert_eq!(
        consume.call("DELETE", "/sources", Some(KEY), None).status,
        405
    );
    assert_eq!(
        consume.call("POST", "/health", None, Some("{}")).status,
        405
    );
    assert_eq!(consume.call("GET", "/nowhere", None, None).status, 404);
    assert!(sources(&consume).is_empty());
    assert!(!consume.stderr().contains("SECRET"));
}

#[test]
fn the_listener_survives_hostile_input() {
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &[]);
    let auth = format!("Bearer {KEY}");
    let huge_header = vec![b'a'; 20_000];
    let cases: Vec<Vec<u8>> = vec![
        b"GET /health HTTP/2.0\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec(),
        b"NOT HTTP AT ALL\r\n\r\n".to_vec(),
        hostile::request("GET", b"/health", &[("X-Big", &huge_header)], b""),
        hostile::request(
            "POST",
            b"/sources",
            &[
                ("Authorization", auth.as_bytes()),
                ("Content-Length", b"18446744073709551615"),
            ],
            b"",
        ),
        hostile::request(
            "POST",
            b"/sources",
            &[("Authorization", auth.as_bytes())],
            &vec![b'{'; 70_000],
        ),
        hostile::request("GET", b"/sources\xff\xfe", &[], b""),
    ];
    for bytes in cases {
        let answer = hostile::exchange(consume.addr, bytes);
        let text = String::from_utf8_lossy(&answer);
        // tiny_http's own 505 for HTTP/2 is the one answer that is not JSON.
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            assert!(
                body.is_empty()
                    || head.contains(" 505 ")
                    || serde_json::from_str::<Value>(body).is_ok(),
                "not JSON: {text}"
            );
        }
        let health = consume.call("GET", "/health", None, None);
        assert_eq!(health.status, 200, "after {text:.100}");
    }
    assert!(sources(&consume).is_empty());
}

#[test]
fn with_every_connection_taken_health_still_answers_and_the_rest_get_503() {
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &[]);
    // Silent connections, more than the listener serves at once (64).
    let idle: Vec<std::net::TcpStream> = (0..70)
        .map(|_| std::net::TcpStream::connect(consume.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    assert_eq!(consume.call("GET", "/health", None, None).status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    let listed = consume.call("GET", "/sources", Some(KEY), None);
    assert_eq!(listed.status, 503, "{listed:?}");
    assert_eq!(listed.json()["success"], false);
    drop(idle);
    assert!(eventually(Duration::from_secs(10), || {
        consume.call("GET", "/sources", Some(KEY), None).status == 200
    }));
}

#[test]
fn a_new_token_for_a_known_url_replaces_the_old_one_in_the_running_worker() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &["--token", "right-token-1234"]);
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &["--allow-http-sources"]);
    announce(
        &consume,
        &serve_url(&serve),
        Some("wrong-token-5678"),
        "box",
    );
    assert!(eventually(Duration::from_secs(20), || {
        sources(&consume)[0]["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("401"))
    }));
    let answer = announce(
        &consume,
        &serve_url(&serve),
        Some("right-token-1234"),
        "box",
    );
    assert_eq!(answer["status"], "refreshed");
    support::serve::publish(&db, 1);
    assert_eq!(fake.wait_for_embeds(1, Duration::from_secs(20)).len(), 1);
    let log = consume.stderr();
    assert!(log.contains("announced a new token"), "{log}");
    assert!(
        !log.contains("right-token") && !log.contains("wrong-token"),
        "{log}"
    );
    assert_eq!(sources(&consume).len(), 1);
}

#[test]
fn a_source_down_when_announced_is_listed_retried_quietly_and_delivers_once_up() {
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &["--allow-http-sources"]);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(
        announce(&consume, &url, Some("tok-abc-123"), "later")["status"],
        "registered"
    );
    assert!(eventually(Duration::from_secs(10), || {
        sources(&consume)[0]["state"] == "backing_off"
    }));
    // Several tries (1 s, 2 s, ...), one line.
    std::thread::sleep(Duration::from_millis(3500));
    let listed = sources(&consume);
    assert!(
        listed[0]["source_errors"].as_u64().unwrap() >= 2,
        "{listed:?}"
    );
    assert!(listed[0]["backing_off_until"].is_string());
    let failing = |log: &str| {
        log.matches(&format!("127.0.0.1:{port}/…: claiming"))
            .count()
    };
    assert_eq!(failing(&consume.stderr()), 1, "{}", consume.stderr());

    let db = TempDb::new();
    let _serve = Serve::start_on(
        &db,
        &format!("127.0.0.1:{port}"),
        &["--token", "tok-abc-123"],
        &[],
    );
    support::serve::publish(&db, 1);
    // The announcement cuts the backoff short.
    announce(&consume, &url, Some("tok-abc-123"), "later");
    assert_eq!(fake.wait_for_embeds(1, Duration::from_secs(20)).len(), 1);
    assert!(consume.wait_for_log("source is answering again", Duration::from_secs(10)));
    assert_eq!(failing(&consume.stderr()), 1, "{}", consume.stderr());
}

#[test]
fn a_silent_source_that_stops_answering_is_forgotten_and_said_so_once() {
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &["--allow-http-sources", "--forget-after", "2s"]);
    let url = format!("http://127.0.0.1:{}", free_port());
    announce(&consume, &url, None, "gone");
    assert!(consume.wait_for_log("forgotten", Duration::from_secs(20)));
    assert!(sources(&consume).is_empty());
    assert_eq!(consume.stderr().matches("forgotten").count(), 1);
    let metrics = consume.call("GET", "/metrics", Some(KEY), None).body;
    assert!(metrics.contains("dq_consume_sources 0"), "{metrics}");
    // It comes back with its next announcement.
    assert_eq!(
        announce(&consume, &url, None, "gone")["status"],
        "registered"
    );
    assert_eq!(sources(&consume).len(), 1);
}

#[test]
fn new_sources_beyond_max_sources_are_refused_with_503() {
    let fake = FakeDiscord::start();
    let consume = announcer(&fake, &["--max-sources", "2", "--allow-http-sources"]);
    // Registering does not depend on reaching the source: nothing listens on these.
    announce(&consume, "https://127.0.0.1:1", None, "one");
    announce(&consume, "https://127.0.0.1:2", None, "two");
    let answer = consume.call(
        "POST",
        "/sources",
        Some(KEY),
        Some(&announcement("https://127.0.0.1:3", None, "three")),
    );
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .contains("2 sources"));
    assert!(answer.header("retry-after").is_some());
    assert_eq!(
        announce(&consume, "https://127.0.0.1:1", None, "one")["status"],
        "refreshed"
    );
    assert_eq!(sources(&consume).len(), 2);
}

#[test]
fn with_an_announce_key_and_no_source_consume_reads_no_local_database() {
    let fake = FakeDiscord::start();
    let mut command = support::dq();
    command
        .args([
            "--db",
            "/proc/dq-nowhere/events.db",
            "consume",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--announce-key", KEY, "--webhook", &fake.webhook_url()]);
    let mut consume = Consume::spawn(command);
    assert!(consume.wait_for_log("waiting for sources", Duration::from_secs(10)));
    assert_eq!(consume.call("GET", "/health", None, None).status, 200);
    assert_eq!(consume.terminate().code(), Some(0));
    assert!(
        !consume.stderr().contains("dq: error"),
        "{}",
        consume.stderr()
    );
}

#[test]
fn consume_listens_on_port_wherever_it_is_set_unless_listen_says_otherwise() {
    let fake = FakeDiscord::start();
    let port = free_port();
    // No RENDER: PORT alone is enough (Railway, Fly, Heroku, Cloud Run).
    let mut command = support::dq();
    command
        .args([
            "consume",
            "--announce-key",
            KEY,
            "--webhook",
            &fake.webhook_url(),
        ])
        .env("PORT", port.to_string());
    let consume = Consume::spawn(command);
    assert_eq!(consume.addr.to_string(), format!("0.0.0.0:{port}"));
    let health = request(
        format!("127.0.0.1:{port}").parse().unwrap(),
        "GET",
        "/health",
        &[],
        None,
    );
    assert_eq!(health.status, 200);

    let mut command = support::dq();
    command
        .args(["consume", "--listen", "127.0.0.1:0", "--announce-key", KEY])
        .args(["--webhook", &fake.webhook_url()])
        .env("PORT", free_port().to_string());
    let other = Consume::spawn(command);
    assert_eq!(other.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(other.addr.port(), port);
}

#[test]
fn announcement_settings_that_cannot_work_are_usage_errors() {
    let fake = FakeDiscord::start();
    let webhook = fake.webhook_url();
    for (args, env, says) in [
        (vec!["--announce-key", KEY], vec![], "--listen"),
        (
            vec!["--announce-key", KEY, "--once", "--listen", "127.0.0.1:0"],
            vec![],
            "--once",
        ),
        (
            vec!["--announce-key", KEY],
            vec![("PORT", "eighty")],
            "PORT",
        ),
        (vec!["--max-sources", "1001"], vec![], "1001"),
        (vec!["--forget-after", "0s"], vec![], "at least"),
    ] {
        let output = support::dq()
            .args(["consume", "--webhook", &webhook])
            .args(&args)
            .envs(env)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // An empty key is no key, as an unset variable would be: --once still works.
    let db = TempDb::new();
    let output = db
        .dq()
        .args(["consume", "--once", "--dry-run"])
        .env("DQ_ANNOUNCE_KEY", "")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn static_sources_each_carry_their_own_token_and_headers() {
    let fake = FakeDiscord::start();
    let (first_db, second_db) = (TempDb::new(), TempDb::new());
    let first = Serve::start(&first_db, &["--token", "first-token-aaaa"]);
    let second = Serve::start(&second_db, &["--token", "second-token-bbbb"]);
    let third = FakeSource::start(Mode::Api);
    support::serve::publish(&first_db, 2);
    support::serve::publish(&second_db, 2);
    third.add(1, "job_done", json!({}));
    let sources = [
        format!("{};token=first-token-aaaa", serve_url(&first)),
        format!(
            "{} ; token=second-token-bbbb ;header=X-Extra: two",
            serve_url(&second)
        ),
        // No token=: --token applies; its own header replaces --header's of the same name.
        format!("{};header=X-Github-Token: own", third.url()),
    ];
    // From the environment, comma-separated, as a config file's `sources` list gives them.
    let output = support::dq()
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .args([
            "--token",
            "default-token",
            "--header",
            "X-Github-Token: global",
        ])
        .env("DQ_SOURCES", sources.join(","))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(fake.embeds().len(), 5);
    assert_eq!(third.processed(), vec![1]);
    let claim = &third.requests()[0];
    let header = |name: &str| claim.header(name);
    assert_eq!(
        header("Authorization").as_deref(),
        Some("Bearer default-token")
    );
    assert_eq!(header("X-Github-Token").as_deref(), Some("own"));
    for secret in ["first-token", "second-token", "default-token"] {
        assert!(!stderr.contains(secret), "{stderr}");
    }

    // From a config file's `sources` list, each string one source with its own token.
    support::serve::publish(&first_db, 1);
    support::serve::publish(&second_db, 1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "webhook = {:?}\nsources = [{:?}, {:?}]\n",
            fake.webhook_url(),
            sources[0],
            sources[1]
        ),
    )
    .unwrap();
    let output = support::dq()
        .arg("--config")
        .arg(&config)
        .args(["consume", "--once"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(fake.embeds().len(), 7);
    assert!(!stderr.contains("first-token") && !stderr.contains("second-token"));
    let shown = support::dq()
        .arg("--config")
        .arg(&config)
        .args(["config", "show"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("sources"), "{shown}");
    assert!(
        !shown.contains("first-token") && !shown.contains("second-token"),
        "{shown}"
    );

    // A source option that is not token= or header=: a usage error that repeats no token.
    let output = support::dq()
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .args(["--source", "https://h;tokn=SECRET-TYPO"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("token=") && !stderr.contains("SECRET-TYPO"),
        "{stderr}"
    );
}
