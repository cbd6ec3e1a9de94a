//! The wire protocol of issue 11 against the real `dq serve`: a GET only reads, a POST to
//! `/discord/events/claim` claims, `/discord/events/ack` acknowledges a batch in one
//! transaction and answers each event on its own.
#![allow(clippy::unwrap_used)]

mod support;

use std::thread;
use std::time::Duration;

use serde_json::{json, Value};
use support::serve::{eventually, ids, publish, Serve};
use support::TempDb;

const EVENTUALLY: Duration = Duration::from_secs(20);

#[test]
fn a_get_changes_nothing_whatever_an_old_consumer_sends() {
    let db = TempDb::new();
    let published = publish(&db, 3);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    for path in [
        "/discord/events",
        "/discord/events?limit=50&max_attempts=3",
        "/discord/events?lease=60",
        "/discord/events?limit=10&lease=60&wait=25",
        "/discord/events?lease=3600&wait=1&limit=2",
        "/discord/events?lease=banana",
    ] {
        let answer = serve.get(path);
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert!(!ids(&answer).is_empty(), "{path}");
    }
    // Every column of every row, lease_until_ms included.
    assert_eq!(db.dump(), before);
    assert_eq!(serve.stats()["leased"], 0);
    assert_eq!(ids(&serve.claim("limit=10")), published);
}

#[test]
fn a_get_with_wait_long_polls_and_still_claims_nothing() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &[]);
    let answer = thread::scope(|scope| {
        let poll = scope.spawn(|| serve.get("/discord/events?wait=60&lease=60"));
        assert!(eventually(EVENTUALLY, || serve
            .get("/discord/metrics")
            .body
            .contains("dq_long_polls_waiting 1")));
        publish(&db, 1);
        poll.join().unwrap()
    });
    let id = ids(&answer);
    assert_eq!(id.len(), 1);
    assert_eq!(serve.stats()["leased"], 0);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let leases: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM events WHERE lease_until_ms IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(leases, 0);
    assert_eq!(ids(&serve.claim("")), id);
}

#[test]
fn a_claim_leases_what_it_returns_with_the_json_of_the_original_read() {
    let db = TempDb::new();
    let published = publish(&db, 3);
    let serve = Serve::start(&db, &[]);
    let read = serve.get("/discord/events?limit=2").json();
    let claimed = serve.claim("limit=2&lease=60").json();
    assert_eq!(claimed["success"], true);
    assert_eq!(claimed["count"], 2);
    assert_eq!(claimed["events"], read["events"]);
    assert!(claimed["timestamp"].is_string());
    assert_eq!(serve.stats()["leased"], 2);
    // The third, then nothing: the first two are held.
    assert_eq!(ids(&serve.claim("limit=10")), published[2..]);
    assert!(ids(&serve.claim("limit=10")).is_empty());
    assert!(ids(&serve.get("/discord/events")).is_empty());
}

#[test]
fn a_claim_body_must_be_empty_or_an_empty_object() {
    let db = TempDb::new();
    publish(&db, 1);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    for body in [r#"{"limit": 5}"#, "[]", "null", "nope", "{", r#""{}""#] {
        let answer = serve.post("/discord/events/claim", Some(body));
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert_eq!(answer.json()["success"], false);
    }
    for query in ["lease=0", "lease=3601", "lease=x", "limit=0", "wait=61"] {
        let answer = serve.claim(query);
        assert_eq!(answer.status, 400, "{query}: {answer:?}");
    }
    let get = serve.get("/discord/events/claim");
    assert_eq!(get.status, 405, "{get:?}");
    assert_eq!(get.header("allow"), Some("POST"));
    assert_eq!(db.dump(), before);
    for body in ["", "{}", " { }\n"] {
        let answer = serve.post("/discord/events/claim?lease=1", Some(body));
        assert_eq!(answer.status, 200, "{body:?}: {answer:?}");
    }
}

#[test]
fn a_batch_ack_answers_every_event_in_order_and_a_bad_id_spoils_none() {
    let db = TempDb::new();
    let published = publish(&db, 4);
    let serve = Serve::start(&db, &[]);
    assert_eq!(ids(&serve.claim("limit=10")), published);
    let [a, b, c, d] = published[..] else {
        unreachable!()
    };
    serve.post(&format!("/discord/events/{a}/processed"), None);
    let answer = serve.ack(json!([
        {"id": a, "status": "processed"},
        {"id": b, "status": "processed"},
        {"id": 424242, "status": "processed"},
        {"id": c, "status": "failed", "error_message": "503", "retry_after": 30},
        {"id": d, "status": "failed", "error_message": "50007: DMs closed", "retryable": false},
        {"id": b, "status": "failed", "error_message": "late"},
        {"id": -1, "status": "failed"},
    ]));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.json(),
        json!({"success": true, "results": [
            {"id": a, "status": "already_processed"},
            {"id": b, "status": "processed"},
            {"id": 424242, "status": "not_found"},
            {"id": c, "status": "will_retry"},
            {"id": d, "status": "dead_lettered"},
            {"id": b, "status": "already_processed"},
            {"id": -1, "status": "not_found"},
        ]})
    );
    let stats = serve.stats();
    assert_eq!(
        (
            &stats["processed"],
            &stats["waiting"],
            &stats["failed"],
            &stats["leased"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(0)),
        "{stats}"
    );
    let failed = serve.get("/discord/failed").json();
    assert_eq!(failed["events"][0]["error_message"], "50007: DMs closed");
    let empty = serve.ack(json!([]));
    assert_eq!(empty.json(), json!({"success": true, "results": []}));
    let metrics = serve.get("/discord/metrics").body;
    for line in [
        "dq_http_requests_total{route=\"ack\",status=\"200\"} 2",
        "dq_http_requests_total{route=\"claim\",status=\"200\"} 1",
        "dq_events_acked_total{outcome=\"processed\"} 2",
        "dq_events_acked_total{outcome=\"already_processed\"} 2",
        "dq_events_acked_total{outcome=\"not_found\"} 2",
        "dq_events_acked_total{outcome=\"will_retry\"} 1",
        "dq_events_acked_total{outcome=\"dead_lettered\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line:?} in\n{metrics}");
    }
}

#[test]
fn a_bad_ack_body_answers_400_and_applies_nothing() {
    let db = TempDb::new();
    let published = publish(&db, 2);
    let serve = Serve::start(&db, &[]);
    let before = db.dump();
    let good = json!({"id": published[0], "status": "processed"});
    let too_many: Vec<Value> = (0..101).map(|_| good.clone()).collect();
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "not JSON"),
        ("nope".into(), "not JSON"),
        ("[]".into(), "JSON object"),
        ("{}".into(), "events must be an array"),
        (r#"{"events": {}}"#.into(), "events must be an array"),
        (r#"{"events": [1]}"#.into(), "events[0] must be an object"),
        (
            json!({"events": [{"status": "processed"}]}).to_string(),
            "events[0].id",
        ),
        (
            json!({"events": [{"id": "1", "status": "processed"}]}).to_string(),
            "events[0].id",
        ),
        (
            json!({"events": [{"id": 1.5, "status": "processed"}]}).to_string(),
            "events[0].id",
        ),
        (
            r#"{"events": [{"id": 99999999999999999999, "status": "processed"}]}"#.into(),
            "events[0].id",
        ),
        (
            json!({"events": [{"id": 1}]}).to_string(),
            "events[0].status",
        ),
        (
            json!({"events": [{"id": 1, "status": "pending"}]}).to_string(),
            "events[0].status",
        ),
        (
            json!({"events": [good, {"id": published[1], "status": "failed", "retry_after": -1}]})
                .to_string(),
            "events[1].retry_after must be 0 to 604800",
        ),
        (
            json!({"events": [good, {"id": 2, "status": "failed", "retryable": "no"}]}).to_string(),
            "events[1].retryable",
        ),
        (
            json!({"events": [good, {"id": 2, "status": "failed", "error_message": 5}]})
                .to_string(),
            "events[1].error_message",
        ),
        (
            json!({"events": too_many}).to_string(),
            "at most 100 events",
        ),
    ];
    for (body, expected) in &cases {
        let answer = serve.post("/discord/events/ack", Some(body));
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        let error = answer.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(expected), "{body}: {error}");
    }
    let huge = format!(
        r#"{{"events": [{{"id": 1, "status": "failed", "error_message": "{}"}}]}}"#,
        "x".repeat(70 * 1024)
    );
    assert_eq!(serve.post("/discord/events/ack", Some(&huge)).status, 413);
    let get = serve.get("/discord/events/ack");
    assert_eq!(get.status, 405, "{get:?}");
    assert_eq!(db.dump(), before);
}

#[test]
fn the_single_event_routes_still_work_next_to_the_batch() {
    let db = TempDb::new();
    let published = publish(&db, 2);
    let serve = Serve::start(&db, &[]);
    let processed = serve.post(&format!("/discord/events/{}/processed", published[0]), None);
    assert_eq!(
        processed.json(),
        json!({"success": true, "event_id": published[0], "status": "processed"})
    );
    let acked = serve.ack(json!([{"id": published[0], "status": "processed"},
                                 {"id": published[1], "status": "processed"}]));
    assert_eq!(acked.json()["results"][0]["status"], "already_processed");
    assert_eq!(acked.json()["results"][1]["status"], "processed");
    assert_eq!(serve.stats()["processed"], 2);
}
