//! `dq serve` end to end: the real binary on 127.0.0.1 port 0, spoken to over raw HTTP.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::serve::{eventually, ids, publish, Serve};
use support::TempDb;

const EVENTUALLY: Duration = Duration::from_secs(20);

#[test]
fn serve_prints_its_address_and_health_needs_no_token() {
    let db = TempDb::new();
    let serve = Serve::start_with(
        &db,
        &[],
        &[
            ("DISCORD_USER_ID", "123456789012345678"),
            (
                "DISCORD_WEBHOOK_URL",
                "https://discord.com/api/webhooks/1/s3cr3t-webhook",
            ),
        ],
    );
    assert_eq!(serve.stdout().lines().count(), 1, "{}", serve.stdout());
    let health = serve.call_with("GET", "/discord/health", &[], None);
    assert_eq!(health.status, 200);
    assert_eq!(health.header("content-type"), Some("application/json"));
    let body = health.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["success"], true);
    assert_eq!(body["queue_available"], true);
    assert!(body["timestamp"].is_string());
    let stats = serve.get("/discord/stats");
    for answer in [&health, &stats] {
        assert!(!answer.body.contains("123456789012345678"), "{answer:?}");
        assert!(!answer.body.contains("s3cr3t"), "{answer:?}");
        assert!(!answer.body.contains(serve.token.as_deref().unwrap()));
    }
}

#[test]
fn the_original_bot_works_unchanged_under_no_auth() {
    let db = TempDb::new();
    let published = publish(&db, 3);
    let serve = Serve::start(&db, &["--no-auth"]);
    assert!(
        serve.stderr().contains("warning: --no-auth"),
        "{}",
        serve.stderr()
    );

    // What the discord.py bot sends: no token, no dq parameters.
    let events = serve.call_with("GET", "/discord/events?limit=50&max_attempts=3", &[], None);
    assert_eq!(events.status, 200);
    let body = events.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["count"], 3);
    assert!(body["timestamp"].is_string());
    let first = &body["events"][0];
    for key in [
        "id",
        "user_id",
        "event_type",
        "payload",
        "created_at",
        "attempts",
        "last_attempt",
        "error_message",
    ] {
        assert!(first.get(key).is_some(), "no {key} in {first}");
    }
    assert_eq!(ids(&events), published);

    let processed = serve.call_with(
        "POST",
        &format!("/discord/events/{}/processed", published[0]),
        &[("Content-Type", "application/json")],
        Some(""),
    );
    assert_eq!(processed.status, 200);
    assert_eq!(
        processed.json(),
        json!({"success": true, "event_id": published[0], "status": "processed"})
    );
    let failed = serve.call_with(
        "POST",
        &format!("/discord/events/{}/failed", published[1]),
        &[("Content-Type", "application/json")],
        Some(r#"{"error_message": "Forbidden"}"#),
    );
    assert_eq!(
        failed.json(),
        json!({"success": true, "event_id": published[1], "status": "failed"})
    );

    let stats = serve.call_with("GET", "/discord/stats", &[], None).json();
    assert_eq!(stats["success"], true);
    assert_eq!(stats["stats"]["total"], 3);
    assert_eq!(stats["stats"]["processed"], 1);
    assert!(stats["config"].is_object());
    let cleanup = serve.call_with("POST", "/discord/cleanup?days=0", &[], Some(""));
    assert_eq!(
        cleanup.json(),
        json!({"success": true, "days": 0, "deleted_count": 1})
    );
}

#[test]
fn unknown_event_ids_answer_404_and_processed_twice_is_harmless() {
    let db = TempDb::new();
    let id = publish(&db, 1)[0];
    let serve = Serve::start(&db, &[]);
    for action in ["processed", "failed", "retry"] {
        let answer = serve.post(&format!("/discord/events/424242/{action}"), None);
        assert_eq!(answer.status, 404, "{answer:?}");
        assert_eq!(answer.json()["success"], false);
    }
    for _ in 0..2 {
        let answer = serve.post(&format!("/discord/events/{id}/processed"), None);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["status"], "processed");
    }
    assert_eq!(serve.stats()["processed"], 1);
}

#[test]
fn two_consumers_polling_at_once_get_disjoint_events() {
    let db = TempDb::new();
    let published = publish(&db, 60);
    let serve = Serve::start(&db, &[]);
    let serve = &serve;
    let received: Vec<Vec<i64>> = thread::scope(|scope| {
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let batch = ids(&serve.claim("limit=7&lease=300"));
                        if batch.is_empty() {
                            return mine;
                        }
                        mine.extend(batch);
                    }
                })
            })
            .collect();
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let first: HashSet<i64> = received[0].iter().copied().collect();
    let second: HashSet<i64> = received[1].iter().copied().collect();
    assert!(first.is_disjoint(&second), "{received:?}");
    let mut all: Vec<i64> = first.union(&second).copied().collect();
    all.sort_unstable();
    assert_eq!(all, published);
    assert_eq!(serve.stats()["leased"], 60);
}

#[test]
fn an_expired_lease_comes_back_and_a_get_only_reads() {
    let db = TempDb::new();
    let published = publish(&db, 2);
    let serve = Serve::start(&db, &[]);
    assert_eq!(ids(&serve.get("/discord/events")), published);
    assert_eq!(ids(&serve.get("/discord/events?lease=60")), published);
    assert_eq!(ids(&serve.claim("lease=1")), published);
    assert!(ids(&serve.claim("lease=60")).is_empty());
    assert!(ids(&serve.get("/discord/events")).is_empty());
    assert!(eventually(EVENTUALLY, || ids(&serve.claim("lease=60")) == published));
}

#[test]
fn read_only_polls_see_every_change_at_once() {
    let db = TempDb::new();
    let first = publish(&db, 1)[0];
    let serve = Serve::start(&db, &["--workers", "1"]);
    let read = || ids(&serve.get("/discord/events"));
    assert_eq!(read(), [first]);
    // Another process commits: the next read shows it.
    let second = publish(&db, 1)[0];
    assert_eq!(read(), [first, second]);
    // This server commits: likewise.
    serve.post(&format!("/discord/events/{first}/processed"), None);
    assert_eq!(read(), [second]);
    assert_eq!(ids(&serve.claim("lease=60")), [second]);
    assert!(read().is_empty());
}

#[test]
fn a_long_poll_is_woken_by_a_publish_from_another_process() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    let started = Instant::now();
    let answer = thread::scope(|scope| {
        let poll = scope.spawn(|| serve.claim("wait=60"));
        thread::sleep(Duration::from_millis(500));
        let output = db
            .dq()
            .args(["publish", "event", "wake_up", "--field", "a=b"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        poll.join().unwrap()
    });
    let elapsed = started.elapsed();
    assert_eq!(answer.json()["count"], 1, "{answer:?}");
    assert_eq!(answer.json()["events"][0]["event_type"], "wake_up");
    // Far below the 60 s wait even on a slow machine; the benchmark measures the real delay.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn a_long_poll_answers_empty_when_its_wait_ends_and_at_once_when_events_are_due() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    let started = Instant::now();
    let answer = serve.claim("wait=1");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(answer.json()["count"], 0);
    publish(&db, 1);
    let started = Instant::now();
    assert_eq!(ids(&serve.claim("wait=60")).len(), 1);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn events_claimed_for_a_long_poll_whose_client_left_are_released_at_once() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    let token = serve.token.clone().unwrap();
    {
        let mut stream = TcpStream::connect(serve.addr).unwrap();
        write!(
            stream,
            "POST /discord/events/claim?wait=60&lease=3600 HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        assert!(eventually(EVENTUALLY, || serve
            .get("/discord/metrics")
            .body
            .contains("dq_long_polls_waiting 1")));
    }
    // The client is gone; the event the lobby claims for it must not sit out a 1-hour lease.
    let id = publish(&db, 1)[0];
    assert!(eventually(EVENTUALLY, || serve
        .get("/discord/metrics")
        .body
        .contains("dq_long_polls_waiting 0")));
    assert!(eventually(EVENTUALLY, || ids(&serve.claim("lease=60")) == [id]));
    assert!(serve
        .get("/discord/metrics")
        .body
        .contains("dq_events_released_total 1"));
}

#[test]
fn sigterm_during_a_long_poll_answers_it_and_exits_zero() {
    let db = TempDb::new();
    let mut serve = Serve::start(&db, &[]);
    let addr = serve.addr;
    let token = serve.token.clone().unwrap();
    let poll = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /discord/events?wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut response).unwrap();
        support::serve::parse_answer(&response)
    });
    // The poll is parked once metrics count it.
    assert!(eventually(EVENTUALLY, || serve
        .get("/discord/metrics")
        .body
        .contains("dq_long_polls_waiting 1")));
    let started = Instant::now();
    let status = serve.terminate();
    assert!(status.success(), "{status:?}");
    let answer = poll.join().unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["count"], 0);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn sigint_stops_an_idle_server_with_exit_zero() {
    let db = TempDb::new();
    let mut serve = Serve::start(&db, &[]);
    serve.signal("INT");
    assert!(serve.wait_exit().success());
}

#[test]
fn permanent_failures_dead_letter_and_retryable_ones_back_off() {
    let db = TempDb::new();
    let ids_published = publish(&db, 3);
    let serve = Serve::start(&db, &["--retry-backoff", "1s"]);
    assert_eq!(ids(&serve.claim("")).len(), 3);
    let fail = |id: i64, body: Value| {
        let answer = serve.post(
            &format!("/discord/events/{id}/failed"),
            Some(&body.to_string()),
        );
        assert_eq!(answer.status, 200, "{answer:?}");
    };
    fail(
        ids_published[0],
        json!({"error_message": "50007: Cannot send messages to this user", "retryable": false}),
    );
    fail(
        ids_published[1],
        json!({"error_message": "503", "retry_after": 3600}),
    );
    fail(ids_published[2], json!({"error_message": "timeout"}));
    let stats = serve.stats();
    assert_eq!(stats["failed"], 1);
    assert_eq!(stats["waiting"], 2);
    // Not due at once: a backoff of about a second for the third, an hour for the second.
    assert!(ids(&serve.get("/discord/events")).is_empty());
    assert!(eventually(
        EVENTUALLY,
        || ids(&serve.get("/discord/events")) == [ids_published[2]]
    ));
    let failed = serve.get("/discord/failed").json();
    assert_eq!(failed["count"], 1);
    assert_eq!(failed["events"][0]["id"], ids_published[0]);
    assert_eq!(
        failed["events"][0]["error_message"],
        "50007: Cannot send messages to this user"
    );
}

#[test]
fn retry_requeues_a_dead_letter_and_refuses_others() {
    let db = TempDb::new();
    let published = publish(&db, 2);
    let serve = Serve::start(&db, &[]);
    let body = json!({"error_message": "gone", "retryable": false}).to_string();
    serve.post(
        &format!("/discord/events/{}/failed", published[0]),
        Some(&body),
    );
    let retried = serve.post(&format!("/discord/events/{}/retry", published[0]), None);
    assert_eq!(
        retried.json(),
        json!({"success": true, "event_id": published[0], "status": "pending"})
    );
    let not_failed = serve.post(&format!("/discord/events/{}/retry", published[1]), None);
    assert_eq!(not_failed.status, 409, "{not_failed:?}");
    assert_eq!(serve.stats()["pending"], 2);
}

#[test]
fn publishing_over_http_stores_the_event() {
    let db = TempDb::new();
    let serve = Serve::start_with(&db, &[], &[("CODESPACE_NAME", "cs-test")]);
    let body = json!({
        "event_type": "backup_success",
        "payload": {"backup_file": "a.tar.gz", "size_mb": 1.5},
        "user_id": "42",
        "dedup_key": "nightly"
    })
    .to_string();
    let created = serve.post("/discord/events", Some(&body));
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["event_id"].as_i64().unwrap();
    assert_eq!(created.json()["success"], true);
    let again = serve.post("/discord/events", Some(&body));
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(again.json()["event_id"], id);
    let events = serve.get("/discord/events").json();
    assert_eq!(events["count"], 1);
    assert_eq!(events["events"][0]["payload"]["codespace_name"], "cs-test");
    assert_eq!(events["events"][0]["user_id"], "42");
}

#[test]
fn metrics_count_events_requests_claims_and_acks() {
    let db = TempDb::new();
    let published = publish(&db, 2);
    let serve = Serve::start(&db, &[]);
    ids(&serve.get("/discord/events"));
    ids(&serve.claim(""));
    serve.post(&format!("/discord/events/{}/processed", published[0]), None);
    serve.post(
        &format!("/discord/events/{}/failed", published[1]),
        Some(r#"{"error_message":"x"}"#),
    );
    let metrics = serve.get("/discord/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    for line in [
        "dq_events{state=\"processed\"} 1",
        "dq_events{state=\"pending\"} 1",
        "dq_events{state=\"waiting\"} 1",
        "dq_http_requests_total{route=\"events\",status=\"200\"} 1",
        "dq_http_requests_total{route=\"claim\",status=\"200\"} 1",
        "dq_events_claimed_total 2",
        "dq_events_acked_total{outcome=\"processed\"} 1",
        "dq_events_acked_total{outcome=\"will_retry\"} 1",
    ] {
        assert!(
            metrics.body.contains(line),
            "no {line:?} in\n{}",
            metrics.body
        );
    }
}

#[test]
fn serve_deletes_old_processed_events_on_its_own() {
    let db = TempDb::new();
    let published = publish(&db, 2);
    let serve = Serve::start(&db, &["--retention", "1s"]);
    serve.post(&format!("/discord/events/{}/processed", published[0]), None);
    assert!(eventually(EVENTUALLY, || serve.stats()["total"] == 1));
    assert_eq!(serve.stats()["pending"], 1);
}

#[test]
fn the_generated_token_is_private_reused_and_never_printed() {
    let db = TempDb::new();
    let mut serve = Serve::start(&db, &[]);
    let token_path = format!("{}.token", db.path().display());
    let token = serve.token.clone().unwrap();
    assert_eq!(token.len(), 64);
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(serve.stderr().contains(&token_path), "{}", serve.stderr());
    serve.get("/discord/events");
    serve.call_with(
        "GET",
        "/discord/events",
        &[("Authorization", &format!("Bearer {token}x"))],
        None,
    );
    assert!(serve.terminate().success());
    assert!(!serve.stdout().contains(&token));
    assert!(!serve.stderr().contains(&token));

    let again = Serve::start(&db, &[]);
    assert_eq!(again.token.as_deref(), Some(token.as_str()));
    assert_eq!(again.get("/discord/stats").status, 200);
}

#[test]
fn a_token_from_the_environment_is_required_and_compared_exactly() {
    let db = TempDb::new();
    let serve = Serve::start_with(&db, &[], &[("DQ_TOKEN", "correct-horse-battery")]);
    assert!(!std::path::Path::new(&format!("{}.token", db.path().display())).exists());
    assert_eq!(serve.get("/discord/stats").status, 200);
    for header in [
        None,
        Some("Bearer wrong"),
        Some("Bearer correct-horse-batter"),
        Some("Bearer correct-horse-battery2"),
        Some("Basic Y29ycmVjdDpob3JzZQ=="),
        Some("Bearer"),
        Some("correct-horse-battery"),
        Some(""),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("Authorization", h)).into_iter().collect();
        let answer = serve.call_with("GET", "/discord/stats", &headers, None);
        assert_eq!(answer.status, 401, "{header:?}: {answer:?}");
        assert_eq!(answer.json()["success"], false);
    }
    let lowercase = serve.call_with(
        "GET",
        "/discord/stats",
        &[("authorization", "bearer correct-horse-battery")],
        None,
    );
    assert_eq!(lowercase.status, 200);
}

#[test]
fn in_a_codespace_serve_prints_the_forwarded_url_on_stderr() {
    let db = TempDb::new();
    let serve = Serve::start_with(
        &db,
        &[],
        &[
            ("CODESPACE_NAME", "fuzzy-waffle"),
            ("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev"),
        ],
    );
    let port = serve.addr.port();
    let expected = format!("https://fuzzy-waffle-{port}.app.github.dev");
    assert!(eventually(EVENTUALLY, || serve
        .stderr()
        .contains("X-Github-Token")));
    assert!(serve.stderr().contains(&expected), "{}", serve.stderr());
    assert!(serve.stderr().contains("X-Github-Token"));
    assert_eq!(serve.stdout().lines().count(), 1);
}

#[test]
fn a_locked_database_answers_503_and_health_keeps_answering() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &["--busy-timeout-ms", "200"]);
    let before = db.dump();
    let lock = rusqlite::Connection::open(db.path()).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let published = serve.post(
        "/discord/events",
        Some(r#"{"event_type":"custom","payload":{}}"#),
    );
    assert_eq!(published.status, 503, "{published:?}");
    assert_eq!(published.json()["success"], false);
    let claimed = serve.claim("");
    assert_eq!(claimed.status, 503, "{claimed:?}");
    let health = serve.call_with("GET", "/discord/health", &[], None);
    assert_eq!(health.status, 200);
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(db.dump(), before);
    assert_eq!(ids(&serve.get("/discord/events")).len(), 1);
}

#[test]
fn many_requests_at_once_are_all_answered() {
    let db = TempDb::new();
    publish(&db, 5);
    let serve = Serve::start(&db, &[]);
    let serve = &serve;
    thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|index| {
                scope.spawn(move || {
                    for _ in 0..10 {
                        let path = if index % 2 == 0 {
                            "/discord/health"
                        } else {
                            "/discord/events"
                        };
                        assert_eq!(serve.get(path).status, 200);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

#[test]
fn slow_or_silent_clients_do_not_stall_the_others() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &["--request-timeout", "2s"]);
    let token = serve.token.clone().unwrap();
    let connect = |text: &str| {
        let mut stream = TcpStream::connect(serve.addr).unwrap();
        stream.write_all(text.as_bytes()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
    };
    // Half a request head; a head whose small body never comes; a head whose larger body never
    // comes. tiny_http (patched) reads bodies up to 64 KiB on the connection's own thread and
    // answers 408 once the request timeout passes.
    let silent: Vec<TcpStream> = (0..20)
        .map(|_| connect("GET /discord/events HTTP/1.1\r\nHost: x\r\n"))
        .collect();
    let head = |length: usize| {
        format!(
            "POST /discord/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: {length}\r\n\r\n{{\"event_type\""
        )
    };
    let small: Vec<TcpStream> = (0..10).map(|_| connect(&head(100))).collect();
    let large: Vec<TcpStream> = (0..3).map(|_| connect(&head(5000))).collect();
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(serve.get("/discord/health").status, 200);
        assert_eq!(ids(&serve.get("/discord/events")).len(), 1);
    }
    // Not blocked behind them: on any machine this is far below what a stall would cost.
    assert!(started.elapsed() < Duration::from_secs(20));
    let answers = |streams: Vec<TcpStream>| -> Vec<Vec<u8>> {
        streams
            .into_iter()
            .map(|mut stream| {
                let mut response = Vec::new();
                let _ = std::io::Read::read_to_end(&mut stream, &mut response);
                response
            })
            .collect()
    };
    for response in answers(large) {
        let answer = support::serve::parse_answer(&response);
        assert_eq!(answer.status, 408, "{answer:?}");
        assert_eq!(answer.json()["success"], false);
    }
    // Dropped without an answer once the timeout passes, rather than held forever.
    for response in answers(small).into_iter().chain(answers(silent)) {
        assert!(response.is_empty() || response.starts_with(b"HTTP/1.1 4"));
    }
    assert_eq!(db.dump().len(), 1);
}

#[test]
fn beyond_max_connections_a_request_gets_a_quick_503_and_health_still_answers() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &["--max-connections", "3", "--request-timeout", "20s"]);
    // Three clients that connect and send nothing hold the limit.
    let idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(serve.addr).unwrap())
        .collect();
    assert!(eventually(EVENTUALLY, || serve
        .get("/discord/stats")
        .status
        == 503));
    let started = Instant::now();
    let health = serve.call_with("GET", "/discord/health", &[], None);
    assert_eq!(health.status, 200, "{health:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let refused = serve.get("/discord/stats");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.json()["success"], false);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("too many connections"));
    // Beyond the reserve as well, the accept loop itself answers 503 and closes.
    let reserve: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(serve.addr).unwrap())
        .collect();
    assert!(eventually(EVENTUALLY, || {
        let answer = serve.call_with("GET", "/discord/health", &[], None);
        answer.status == 503 && answer.json()["success"] == false
    }));
    drop(reserve);
    drop(idle);
    // The slots come back as the clients leave.
    assert!(eventually(EVENTUALLY, || serve
        .get("/discord/stats")
        .status
        == 200));
    assert_eq!(db.dump().len(), 1);
}

#[test]
fn a_kept_alive_connection_outlives_the_request_timeout_while_its_long_poll_waits() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &["--request-timeout", "1s"]);
    let token = serve.token.clone().unwrap();
    let mut stream = TcpStream::connect(serve.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut ask = |request: String| {
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .unwrap_or_else(|| panic!("no length in {head:?}"))
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut reader, &mut body).unwrap();
        (head, String::from_utf8(body).unwrap())
    };
    // Silent for 3 s while its claim waits: longer than the 1 s request timeout.
    let (head, body) = ask(format!(
        "POST /discord/events/claim?wait=3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\n\r\n"
    ));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("\"count\":0"), "{body}");
    let (head, _) = ask(format!(
        "GET /discord/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    ));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
