//! Storage faults under a running `dq serve`: database files made read-only, a full
//! filesystem, the file truncated or overwritten with garbage. Writes answer 503 with a JSON
//! body, reads and health keep answering where the file allows, no existing row is lost, and
//! serve recovers once the fault is removed. (A write lock held longer than the busy timeout
//! is `a_locked_database_answers_503_and_health_keeps_answering` in `serve.rs`.)
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::hostile::{alive, rows_after, Row};
use support::queue::read_only;
use support::serve::{eventually, ids, publish, Answer, Serve};
use support::{TempDb, Tmpfs};

const PUBLISH: &str = r#"{"event_type":"custom","payload":{"after":"the fault"}}"#;

fn assert_unavailable(context: &str, answer: &Answer) {
    assert_eq!(answer.status, 503, "{context}: {answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = answer.json();
    assert_eq!(body["success"], false, "{context}: {body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.starts_with("the queue is unavailable")),
        "{context}: {body}"
    );
}

/// Every write route refuses with 503 and changes nothing; health answers.
fn writes_are_refused(serve: &Serve) {
    assert_unavailable("publish", &serve.post("/discord/events", Some(PUBLISH)));
    assert_unavailable("claim", &serve.claim("limit=5"));
    assert_unavailable(
        "ack",
        &serve.post(
            "/discord/events/ack",
            Some(r#"{"events": [{"id": 1, "status": "processed"}]}"#),
        ),
    );
    assert_unavailable(
        "processed",
        &serve.post("/discord/events/1/processed", None),
    );
    assert_unavailable(
        "failed",
        &serve.post("/discord/events/2/failed", Some(r#"{"error_message":"x"}"#)),
    );
    let health = serve.call_with("GET", "/discord/health", &[], None);
    assert_eq!(health.status, 200, "{health:?}");
    assert!(alive(serve.pid()));
}

/// After the fault: a publish is accepted again (within a generous deadline), and every row
/// from before is still there, unchanged.
fn recovers_keeping_every_row(serve: &Serve, db: &TempDb, before: &[(i64, Row)]) {
    assert!(
        eventually(Duration::from_secs(15), || serve
            .post("/discord/events", Some(PUBLISH))
            .status
            == 201),
        "serve did not recover: {:?}",
        serve.post("/discord/events", Some(PUBLISH))
    );
    // Every row from before, with the same content (a lease taken meanwhile may differ).
    let after = rows_after(db, 0);
    for (id, row) in before {
        let found = after.iter().find(|(found, _)| found == id);
        assert_eq!(
            found.map(|(_, row)| row),
            Some(row),
            "row {id} was lost or changed"
        );
    }
    assert!(alive(serve.pid()), "serve died: {}", serve.stderr());
    assert_eq!(serve.get("/discord/stats").status, 200);
    assert!(!ids(&serve.get("/discord/events?limit=100")).is_empty());
}

#[test]
fn read_only_database_files_get_503_for_writes_while_reads_go_on() {
    let db = TempDb::new();
    publish(&db, 5);
    let serve = Serve::start(&db, &[]);
    assert_eq!(serve.get("/discord/stats").status, 200);
    let before = rows_after(&db, 0);
    let wal = PathBuf::from(format!("{}-wal", db.path().display()));
    // The -shm file stays writable: SQLite maps it into memory, and a mapped page of a file
    // made immutable under a running process faults with SIGBUS, which no program survives.
    let guards = match (read_only(db.path()), read_only(&wal)) {
        (Some(file), Some(wal)) => (file, wal),
        _ => {
            eprintln!("skipped: cannot make the database read-only here");
            return;
        }
    };
    writes_are_refused(&serve);
    let read = serve.get("/discord/events?lease=0&limit=100");
    assert_eq!(ids(&read).len(), 5);
    let stats = serve.get("/discord/stats");
    assert_eq!(stats.status, 200, "{stats:?}");
    assert_eq!(stats.json()["stats"]["total"], 5);
    assert_eq!(serve.get("/discord/metrics").status, 200);
    drop(guards);
    recovers_keeping_every_row(&serve, &db, &before);
}

#[test]
fn a_full_filesystem_gets_503_for_writes_and_serve_recovers_with_space() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_mount) = Tmpfs::mount(&dir.path().join("small"), "512k") else {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        return;
    };
    let db = TempDb {
        path: dir.path().join("small/events.db"),
        dir: tempfile::tempdir().unwrap(),
    };
    publish(&db, 20);
    let serve = Serve::start(&db, &[]);
    assert_eq!(serve.get("/discord/stats").status, 200);
    let before = rows_after(&db, 0);
    // Fill every remaining byte.
    let filler = dir.path().join("small/filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    // A payload that needs new pages cannot be stored.
    let big = serde_json::json!({
        "event_type": "custom",
        "payload": {"text": "y".repeat(60_000)}
    })
    .to_string();
    for _ in 0..3 {
        assert_unavailable("big publish", &serve.post("/discord/events", Some(&big)));
    }
    let health = serve.call_with("GET", "/discord/health", &[], None);
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(
        ids(&serve.get("/discord/events?lease=0&limit=100")).len(),
        20
    );
    assert!(alive(serve.pid()));
    std::fs::remove_file(&filler).unwrap();
    recovers_keeping_every_row(&serve, &db, &before);
    assert_eq!(serve.post("/discord/events", Some(&big)).status, 201);
}

/// How the fault is removed.
enum Restore {
    /// The saved copy written back over the file while serve runs.
    InPlace,
    /// Serve stopped, the saved copy put back, its stale -wal and -shm removed, serve started:
    /// writes made while the file was garbage may sit in the WAL as pages built from the
    /// garbage, which SQLite would lay over the restored file.
    WithRestart,
}

/// Damages the database file in place while serve runs, checks serve's answers, then puts
/// the saved copy back.
fn damaged_file(damage: impl FnOnce(&Path), restore: Restore) {
    let db = TempDb::new();
    publish(&db, 5);
    let mut serve = Serve::start(&db, &[]);
    assert_eq!(serve.get("/discord/stats").status, 200);
    let before = rows_after(&db, 0);
    let saved = db.dir.path().join("saved.db");
    std::fs::copy(db.path(), &saved).unwrap();
    damage(db.path());
    for round in 0..3 {
        assert!(
            alive(serve.pid()),
            "serve died in round {round}: {}",
            serve.stderr()
        );
        // Never a 500 or a dropped connection: a damaged file is an unavailable queue.
        // SQLite takes an empty file for an empty database and may still hold the file's
        // pages in its cache, so a write can land (in the WAL); otherwise it is a 503.
        let published = serve.post("/discord/events", Some(PUBLISH));
        if published.status != 201 {
            assert_unavailable("publish", &published);
        }
        // SQLite may still have the file's pages cached and write a claim to the WAL; either
        // way, never a 500.
        let claimed = serve.claim("limit=5&lease=1");
        assert!(
            claimed.status == 200 || claimed.status == 503,
            "claim: {claimed:?}"
        );
        for path in ["/discord/stats", "/discord/failed", "/discord/metrics"] {
            let answer = serve.get(path);
            assert!(
                answer.status == 200 || answer.status == 503,
                "{path}: {answer:?}"
            );
        }
        let health = serve.call_with("GET", "/discord/health", &[], None);
        assert_eq!(health.status, 200, "{health:?}");
        assert!(alive(serve.pid()), "serve died: {}", serve.stderr());
    }
    // The fault removed: the saved copy back in place (same file, as a restore would do).
    if let Restore::WithRestart = restore {
        assert_eq!(serve.terminate().code(), Some(0), "{}", serve.stderr());
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.path().display()));
        }
    }
    std::fs::write(db.path(), std::fs::read(&saved).unwrap()).unwrap();
    if let Restore::WithRestart = restore {
        serve = Serve::start(&db, &[]);
    }
    recovers_keeping_every_row(&serve, &db, &before);
}

#[test]
fn a_database_truncated_under_serve_gets_503_and_serve_recovers_once_restored() {
    damaged_file(
        |path| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .unwrap()
                .set_len(0)
                .unwrap();
        },
        Restore::InPlace,
    );
}

#[test]
fn a_database_overwritten_with_garbage_under_serve_gets_503_and_serve_recovers() {
    damaged_file(
        |path| {
            let garbage: Vec<u8> = (0..100_000u32)
                .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            std::fs::write(path, garbage).unwrap();
        },
        Restore::WithRestart,
    );
}
