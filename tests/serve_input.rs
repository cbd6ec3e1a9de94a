//! Bad input to `dq serve`: every case gets a JSON error with the right status, never a 500 or
//! HTML, and the database is unchanged afterwards.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::serve::{ids, publish, Serve};
use support::TempDb;

/// (method, path, body, expected status)
const CASES: &[(&str, &str, Option<&str>, u16)] = &[
    ("GET", "/discord/events?limit=-1", None, 400),
    ("GET", "/discord/events?limit=0", None, 400),
    ("GET", "/discord/events?limit=101", None, 400),
    ("GET", "/discord/events?limit=abc", None, 400),
    ("GET", "/discord/events?limit=", None, 400),
    (
        "GET",
        "/discord/events?limit=99999999999999999999",
        None,
        400,
    ),
    ("GET", "/discord/events?max_attempts=0", None, 400),
    ("GET", "/discord/events?max_attempts=101", None, 400),
    ("GET", "/discord/events?max_attempts=three", None, 400),
    ("GET", "/discord/events?wait=-1", None, 400),
    ("GET", "/discord/events?wait=61", None, 400),
    ("GET", "/discord/events?wait=1.5", None, 400),
    ("POST", "/discord/events/claim?lease=-1", None, 400),
    ("POST", "/discord/events/claim?lease=0", None, 400),
    ("POST", "/discord/events/claim?lease=3601", None, 400),
    ("POST", "/discord/events/claim?lease=x", None, 400),
    ("POST", "/discord/events/claim?limit=0", None, 400),
    ("POST", "/discord/events/claim?wait=61", None, 400),
    ("POST", "/discord/events/claim", Some("[]"), 400),
    ("POST", "/discord/events/ack", None, 400),
    (
        "POST",
        "/discord/events/ack",
        Some(r#"{"events": [{"id": 1}]}"#),
        400,
    ),
    ("GET", "/discord/events/claim", None, 405),
    ("GET", "/discord/events/ack", None, 405),
    ("POST", "/discord/cleanup?days=-1", None, 400),
    ("POST", "/discord/cleanup?days=36501", None, 400),
    ("POST", "/discord/cleanup?days=week", None, 400),
    ("GET", "/discord/failed?limit=0", None, 400),
    ("POST", "/discord/events/-1/processed", None, 400),
    ("POST", "/discord/events/abc/processed", None, 400),
    (
        "POST",
        "/discord/events/99999999999999999999/processed",
        None,
        400,
    ),
    ("POST", "/discord/events/1.0/failed", None, 400),
    ("POST", "/discord/events//processed", None, 400),
    ("POST", "/discord/events/777/processed", None, 404),
    ("POST", "/discord/events/1/explode", None, 404),
    ("GET", "/", None, 404),
    ("GET", "/discord/nope", None, 404),
    ("GET", "/discord/events/", None, 404),
    ("DELETE", "/discord/events", None, 405),
    ("PUT", "/discord/stats", None, 405),
    ("GET", "/discord/events/1/processed", None, 405),
    ("GET", "/discord/cleanup", None, 405),
    ("POST", "/discord/health", None, 405),
    ("POST", "/discord/events/1/failed", Some("not json"), 400),
    ("POST", "/discord/events/1/failed", Some("[1, 2]"), 400),
    ("POST", "/discord/events/1/failed", Some(r#""text""#), 400),
    (
        "POST",
        "/discord/events/1/failed",
        Some(r#"{"error_message": 5}"#),
        400,
    ),
    (
        "POST",
        "/discord/events/1/failed",
        Some(r#"{"error_message": "x", "retryable": "no"}"#),
        400,
    ),
    (
        "POST",
        "/discord/events/1/failed",
        Some(r#"{"error_message": "x", "retry_after": -5}"#),
        400,
    ),
    (
        "POST",
        "/discord/events/1/failed",
        Some(r#"{"error_message": "x", "retry_after": "soon"}"#),
        400,
    ),
    ("POST", "/discord/events", Some(""), 400),
    ("POST", "/discord/events", Some("{"), 400),
    (
        "POST",
        "/discord/events",
        Some(r#"{"event_type": "Bad Type", "payload": {}}"#),
        400,
    ),
    (
        "POST",
        "/discord/events",
        Some(r#"{"event_type": "ok", "payload": [1]}"#),
        400,
    ),
    (
        "POST",
        "/discord/events",
        Some(r#"{"event_type": "ok", "payload": "text"}"#),
        400,
    ),
    ("POST", "/discord/events", Some(r#"{"payload": {}}"#), 400),
    (
        "POST",
        "/discord/events",
        Some(r#"{"event_type": "ok", "payload": {}, "extra": 1}"#),
        400,
    ),
    (
        "POST",
        "/discord/events",
        Some(r#"{"event_type": "ok", "payload": {}, "user_id": 5}"#),
        400,
    ),
    (
        "POST",
        "/discord/events",
        Some(r#"{"event_type": "ok", "payload": {}, "dedup_key": ""}"#),
        400,
    ),
];

fn assert_json_error(context: &str, answer: &support::serve::Answer, status: u16) {
    assert_eq!(answer.status, status, "{context}: {answer:?}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{context}"
    );
    let body = answer.json();
    assert_eq!(body["success"], false, "{context}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{context}: {body}"
    );
}

#[test]
fn bad_requests_get_json_errors_and_change_nothing() {
    let db = TempDb::new();
    publish(&db, 2);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    for (method, path, body, status) in CASES {
        let answer = serve.call(method, path, *body);
        assert_json_error(&format!("{method} {path} {body:?}"), &answer, *status);
        assert_eq!(
            db.dump(),
            before,
            "{method} {path} {body:?} changed the database"
        );
    }
    // Still serving, and nothing was claimed by the refused requests.
    assert_eq!(ids(&serve.get("/discord/events")).len(), 2);
    assert_eq!(serve.stats()["leased"], 0);
}

#[test]
fn a_body_over_64_kib_is_refused_with_413() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    let big =
        json!({"event_type": "custom", "payload": {"text": "x".repeat(70 * 1024)}}).to_string();
    let answer = serve.post("/discord/events", Some(&big));
    assert_json_error("publish 70 KiB", &answer, 413);
    let failure = json!({"error_message": "x".repeat(70 * 1024)}).to_string();
    let answer = serve.post("/discord/events/1/failed", Some(&failure));
    assert_json_error("failed 70 KiB", &answer, 413);
    let acks =
        json!({"events": [{"id": 1, "status": "failed", "error_message": "x".repeat(70 * 1024)}]})
            .to_string();
    let answer = serve.post("/discord/events/ack", Some(&acks));
    assert_json_error("ack 70 KiB", &answer, 413);
    // A payload just under the limit is refused by the payload rule, not by the body limit.
    assert_eq!(db.dump(), before);
}

#[test]
fn missing_wrong_or_malformed_authorization_gets_401_on_every_route_but_health() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    let routes = [
        ("GET", "/discord/events"),
        ("POST", "/discord/events"),
        ("POST", "/discord/events/claim"),
        ("POST", "/discord/events/ack"),
        ("POST", "/discord/events/1/processed"),
        ("POST", "/discord/events/1/failed"),
        ("POST", "/discord/events/1/retry"),
        ("GET", "/discord/stats"),
        ("POST", "/discord/cleanup?days=0"),
        ("GET", "/discord/failed"),
        ("GET", "/discord/metrics"),
        ("GET", "/discord/unknown"),
    ];
    for (method, path) in routes {
        for header in [
            None,
            Some("Bearer nope"),
            Some("Token abc"),
            Some("Bearer"),
            Some("Bearer  "),
        ] {
            let headers: Vec<(&str, &str)> =
                header.map(|h| ("Authorization", h)).into_iter().collect();
            let answer = serve.call_with(method, path, &headers, Some("{}"));
            assert_json_error(&format!("{method} {path} {header:?}"), &answer, 401);
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        }
    }
    assert_eq!(db.dump(), before);
    assert_eq!(
        serve.call_with("GET", "/discord/health", &[], None).status,
        200
    );
}

#[test]
fn garbage_request_lines_and_headers_are_refused_without_html() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET /discord/health HTTP/9.9\r\n\r\n",
        b"GET /discord/health HTTP/1.1\r\nthis is not a header\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GET /discord/health HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
    ] {
        let response = serve.raw_bytes(garbage);
        let shown = String::from_utf8_lossy(garbage);
        // tiny_http (patched) answers what it cannot parse, even bytes that are not ASCII,
        // with a JSON 400; no HTML, no 500, nothing stored.
        let answer = support::serve::parse_answer(&response);
        assert_eq!(answer.status, 400, "{shown:?}: {answer:?}");
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(answer.json()["success"], false, "{shown:?}");
    }
    assert_eq!(db.dump(), before);
    assert_eq!(
        serve.call_with("GET", "/discord/health", &[], None).status,
        200
    );
}

#[test]
fn a_request_for_http_2_gets_505_and_its_connection_is_closed() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    // Unpatched tiny_http 0.12 never answered this and held the connection's thread forever.
    for _ in 0..3 {
        let answer = serve.raw(b"GET /discord/health HTTP/2.0\r\n\r\n");
        assert_eq!(answer.status, 505, "{answer:?}");
    }
    assert_eq!(
        serve.call_with("GET", "/discord/health", &[], None).status,
        200
    );
}
