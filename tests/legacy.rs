//! A database written by the original Python system (its exact schema, no `user_version`,
//! naive local timestamps, payloads as Python's `json.dumps` writes them) opens in dq,
//! migrates in place, and keeps every row and value; the original's own inserts keep working.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Local;
use rusqlite::{params, Connection};
use serde_json::json;
use support::queue::{json, scanned_counts, succeeds};
use support::serve::{ids, Serve};
use support::TempDb;

/// The original module's schema, statement for statement.
const ORIGINAL_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        processed BOOLEAN DEFAULT 0,
        attempts INTEGER DEFAULT 0,
        last_attempt TIMESTAMP,
        error_message TEXT
    );
    CREATE INDEX IF NOT EXISTS idx_processed ON events(processed, attempts);
    CREATE INDEX IF NOT EXISTS idx_created ON events(created_at);
";

/// `datetime.now().isoformat()` of `days` days ago: naive local time with microseconds.
fn python_now_minus(days: i64) -> String {
    (Local::now() - chrono::Duration::days(days))
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// The original publisher's insert: only the four columns it knew.
fn python_publish(
    conn: &Connection,
    user_id: &str,
    event_type: &str,
    payload: &str,
    created_at: &str,
) -> i64 {
    conn.execute(
        "INSERT INTO events (user_id, event_type, payload, created_at) VALUES (?, ?, ?, ?)",
        params![user_id, event_type, payload, created_at],
    )
    .unwrap();
    conn.last_insert_rowid()
}

/// The original columns of every row, exactly as stored (type and value).
fn original_rows(db: &TempDb) -> Vec<String> {
    let conn = Connection::open(db.path()).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT id, user_id, event_type, payload, created_at, processed, attempts,
                last_attempt, error_message FROM events ORDER BY id",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((0..9)
                .map(|index| format!("{:?}", row.get::<_, rusqlite::types::Value>(index).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Builds the database the Python system leaves behind: one processed event, one failed
/// (three attempts), two pending (one with an attempt), and a deleted last row, so the
/// AUTOINCREMENT sequence is ahead of the largest id.
fn python_database() -> TempDb {
    let db = TempDb::new();
    let conn = Connection::open(db.path()).unwrap();
    conn.execute_batch(ORIGINAL_SCHEMA).unwrap();
    // json.dumps: ", " and ": " separators, \u escapes for everything that is not ASCII
    // (surrogate pairs above the BMP).
    let processed = python_publish(
        &conn,
        "123456789012345678",
        "backup_error",
        r#"{"error_type": "backup_compression", "error_message": "No space left", "backup_file": "world_2026-11-27.tar.gz", "codespace_name": "super-space-xyz", "timestamp": "2026-11-27T17:59:01.259152"}"#,
        &python_now_minus(10),
    );
    conn.execute(
        "UPDATE events SET processed = 1, last_attempt = ? WHERE id = ?",
        params![python_now_minus(10), processed],
    )
    .unwrap();
    let failed = python_publish(
        &conn,
        "123456789012345678",
        "minecraft_status",
        r#"{"status": "online", "ip": "1.2.3.4", "port": 25565, "players_online": 0, "motd": "Se\u00f1or \u00a1hola! \ud83c\udf89", "codespace_name": "super-space-xyz", "timestamp": "2026-11-27T17:59:01.259152"}"#,
        "2026-11-27T17:59:01.259152",
    );
    for _ in 0..3 {
        conn.execute(
            "UPDATE events SET attempts = attempts + 1, last_attempt = ?, error_message = ?
             WHERE id = ?",
            params![
                "2026-11-27T18:05:12.000001",
                "403 Forbidden (error code: 50007): Cannot send messages to this user",
                failed
            ],
        )
        .unwrap();
    }
    let retried = python_publish(
        &conn,
        "123456789012345678",
        "codespace_status",
        r#"{"action": "started", "details": {"branch": "main", "note": "d\u00e9j\u00e0 vu"}, "codespace_name": "super-space-xyz", "timestamp": "2026-11-27T17:59:01.259152"}"#,
        "2026-11-27 17:59:02",
    );
    conn.execute(
        "UPDATE events SET attempts = 1, last_attempt = ?, error_message = ? WHERE id = ?",
        params!["2026-11-27T18:00:00.5", "HTTP 502", retried],
    )
    .unwrap();
    python_publish(
        &conn,
        "",
        "backup_success",
        r#"{"backup_file": "world.tar.gz", "size_mb": 512.5, "duration_seconds": 42, "codespace_name": null, "timestamp": "2026-11-27T17:59:03.000000"}"#,
        "2026-11-27T17:59:03.000000",
    );
    let deleted = python_publish(
        &conn,
        "",
        "test",
        r#"{"message": "x"}"#,
        "2026-11-27T17:59:04",
    );
    conn.execute("DELETE FROM events WHERE id = ?", [deleted])
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 0);
    db
}

#[test]
fn an_original_database_migrates_in_place_and_keeps_every_row() {
    let db = python_database();
    let before = original_rows(&db);
    assert_eq!(before.len(), 4);

    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(stats["total"], 4);
    assert_eq!(stats["processed"], 1);
    assert_eq!(stats["failed"], 1);
    assert_eq!(stats["pending"], 2);
    assert_eq!(stats["leased"], 0);
    assert_eq!(stats["waiting"], 0);

    assert_eq!(original_rows(&db), before, "migration changed a row");
    let conn = Connection::open(db.path()).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert!(version >= 2, "user_version {version}");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        indexes.contains(&"idx_processed".to_string()),
        "{indexes:?}"
    );
    assert!(indexes.contains(&"idx_created".to_string()), "{indexes:?}");
    drop(conn);

    // Opening again (a second migration check) changes nothing either.
    succeeds(db.dq().arg("stats"));
    assert_eq!(original_rows(&db), before);
}

#[test]
fn failed_lists_the_originals_dead_letters_with_their_age() {
    let db = python_database();
    let listed = json(&succeeds(db.dq().args(["failed", "--json"])));
    assert_eq!(listed["count"], 1);
    let event = &listed["events"][0];
    assert_eq!(event["id"], 2);
    assert_eq!(event["event_type"], "minecraft_status");
    assert_eq!(event["attempts"], 3);
    assert_eq!(
        event["error_message"],
        "403 Forbidden (error code: 50007): Cannot send messages to this user"
    );
    assert_eq!(event["created_at"], "2026-11-27T17:59:01.259152");
    let table = succeeds(db.dq().arg("failed"));
    let line = table.lines().nth(1).unwrap();
    // The naive timestamp was read: the age is a duration, not "?".
    assert!(!line.contains(" ? "), "{table}");
    assert!(line.contains("50007"), "{table}");
}

#[test]
fn payloads_written_by_python_are_read_back_as_the_same_values() {
    let db = python_database();
    succeeds(db.dq().arg("stats"));
    let store = support::queue::store(&db);
    let failed = store.get(2).unwrap().unwrap();
    assert_eq!(failed.payload["motd"], json!("Señor ¡hola! 🎉"));
    assert!(failed.created_utc().is_some());
    let retried = store.get(3).unwrap().unwrap();
    assert_eq!(retried.payload["details"]["note"], "déjà vu");
    assert_eq!(retried.attempts, 1);
    assert_eq!(
        retried.last_attempt.as_deref(),
        Some("2026-11-27T18:00:00.5")
    );
    let pending = store.get(4).unwrap().unwrap();
    assert_eq!(pending.user_id, "");
    assert_eq!(pending.payload["duration_seconds"], 42);
}

#[test]
fn new_publishes_take_the_next_id_after_the_originals_sequence() {
    let db = python_database();
    // Row 5 was deleted by the original; AUTOINCREMENT never reuses its id.
    assert_eq!(succeeds(db.dq().args(["publish", "test"])), "6\n");
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(stats["total"], 5);
    assert_eq!(stats["pending"], 3);
}

#[test]
fn the_original_publisher_keeps_working_on_a_migrated_database() {
    let db = python_database();
    succeeds(db.dq().args(["publish", "test"]));
    let conn = Connection::open(db.path()).unwrap();
    let id = python_publish(
        &conn,
        "1",
        "backup_error",
        r#"{"error_type": "backup_upload"}"#,
        &python_now_minus(0),
    );
    assert_eq!(id, 7);
    drop(conn);
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(stats["total"], 6);
    assert_eq!(stats["pending"], 4);
}

#[test]
fn the_originals_pending_events_are_handed_out_oldest_first_past_its_dead_letter() {
    let db = python_database();
    let serve = Serve::start(&db, &[]);
    // Its dead letter (3 attempts) comes first by id, its retried event (1 attempt, no
    // backoff column) next, then a new one: the claim skips only the first.
    assert_eq!(ids(&serve.get("/discord/events?limit=10&lease=0")), [3, 4]);
    assert_eq!(ids(&serve.claim("limit=1&lease=60")), [3]);
    assert_eq!(ids(&serve.claim("limit=10&lease=60")), [4]);
    assert!(ids(&serve.claim("limit=10&lease=60")).is_empty());
    assert_eq!(ids(&serve.get("/discord/failed?limit=5")), [2]);
}

#[test]
fn retry_and_cleanup_work_on_the_originals_rows() {
    let db = python_database();
    assert_eq!(
        json(&succeeds(db.dq().args(["retry", "2", "--json"]))),
        json!({ "requeued": 1 })
    );
    // The processed event is 10 days old by its naive local timestamp.
    assert_eq!(
        json(&succeeds(
            db.dq().args(["cleanup", "--days", "7", "--json"])
        )),
        json!({ "days": 7, "deleted_count": 1 })
    );
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(stats["total"], 3);
    assert_eq!(stats["pending"], 3);
    assert_eq!(stats["failed"], 0);
}

#[test]
fn the_original_bot_reads_a_row_published_with_title() {
    let db = TempDb::new();
    succeeds(db.dq().args([
        "publish",
        "backup-error",
        "--error-type",
        "upload",
        "--message",
        "timeout",
        "--codespace",
        "cs-1",
        "--title",
        "Upload failed again",
        "--level",
        "warning",
        "--url",
        "https://status.example",
    ]));
    // The original API's read: `SELECT *` with rows by column name, then json.loads(payload).
    let conn = Connection::open(db.path()).unwrap();
    let (event_type, payload, processed, attempts): (String, String, i64, i64) = conn
        .query_row(
            "SELECT * FROM events WHERE processed = 0 AND attempts < ? ORDER BY created_at ASC
             LIMIT ?",
            params![3, 50],
            |row| {
                Ok((
                    row.get("event_type")?,
                    row.get("payload")?,
                    row.get("processed")?,
                    row.get("attempts")?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        (event_type.as_str(), processed, attempts),
        ("backup_error", 0, 0)
    );
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    let keys: Vec<&String> = payload.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "error_type",
            "error_message",
            "backup_file",
            "codespace_name",
            "timestamp"
        ],
        "the payload holds the original keys only"
    );
    assert_eq!(payload["error_type"], "backup_upload");
    assert_eq!(payload["error_message"], "timeout");
    drop(conn);

    // The original bot polls without a token and reads event_type and payload by key.
    let serve = support::serve::Serve::start(&db, &["--no-auth"]);
    let answer = serve.get("/discord/events?limit=50&max_attempts=3").json();
    assert_eq!(answer["success"], true);
    let event = &answer["events"][0];
    assert_eq!(event["event_type"], "backup_error");
    assert_eq!(event["payload"], payload);
    assert_eq!(
        event["title"], "Upload failed again",
        "extra keys a dict ignores"
    );
    let id = event["id"].as_i64().unwrap();
    let marked = serve.post(&format!("/discord/events/{id}/processed"), None);
    assert_eq!(marked.json()["success"], true);
}

/// `dq stats --json --max-attempts N`'s counts, in the order `scanned_counts` gives them.
fn kept_counts(db: &TempDb, max_attempts: i64) -> [i64; 6] {
    let stats = json(&succeeds(db.dq().args([
        "stats",
        "--json",
        "--max-attempts",
        &max_attempts.to_string(),
    ])));
    [
        "total",
        "pending",
        "processed",
        "failed",
        "leased",
        "waiting",
    ]
    .map(|key| stats[key].as_i64().unwrap())
}

#[test]
fn the_kept_counts_start_from_the_originals_rows_and_follow_its_writes() {
    let db = python_database();
    let now_ms = || chrono::Utc::now().timestamp_millis();
    // Migrating counts the rows already there, once, for every max_attempts.
    for max_attempts in 1..=4 {
        let kept = kept_counts(&db, max_attempts);
        let scanned = scanned_counts(
            &Connection::open(db.path()).unwrap(),
            max_attempts,
            now_ms(),
        );
        assert_eq!(kept, scanned, "max_attempts {max_attempts}");
    }
    assert_eq!(kept_counts(&db, 3), [4, 2, 1, 1, 0, 0]);
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    // The last delivery is the processed event's naive local last_attempt, read as UTC; the
    // oldest due event is the one the original retried once (id 3), created at a naive
    // local time too.
    let conn = Connection::open(db.path()).unwrap();
    let (delivered, created): (String, String) = conn
        .query_row(
            "SELECT (SELECT last_attempt FROM events WHERE id = 1),
                (SELECT created_at FROM events WHERE id = 3)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let delivered = dq::event::parse_timestamp(&delivered).unwrap();
    assert_eq!(
        stats["last_delivery"],
        dq::event::format_timestamp(delivered)
    );
    let created = dq::event::parse_timestamp(&created).unwrap();
    let age = (chrono::Utc::now() - created).num_seconds() as f64;
    let shown = stats["oldest_due_age_seconds"].as_f64().unwrap();
    assert!((shown - age).abs() < 60.0, "{shown} vs {age}");

    // The original's own inserts, marks and deletes are counted by the triggers.
    python_publish(
        &conn,
        "",
        "test",
        r#"{"message": "a"}"#,
        &python_now_minus(0),
    );
    python_publish(
        &conn,
        "",
        "test",
        r#"{"message": "b"}"#,
        &python_now_minus(0),
    );
    conn.execute(
        "UPDATE events SET processed = 1, last_attempt = ? WHERE id = 4",
        [python_now_minus(0)],
    )
    .unwrap();
    conn.execute(
        "UPDATE events SET attempts = attempts + 1, last_attempt = ? WHERE id = 3",
        [python_now_minus(0)],
    )
    .unwrap();
    conn.execute("DELETE FROM events WHERE processed = 1 AND id = 1", [])
        .unwrap();
    for max_attempts in 1..=4 {
        assert_eq!(
            kept_counts(&db, max_attempts),
            scanned_counts(&conn, max_attempts, now_ms()),
            "max_attempts {max_attempts}"
        );
    }
    assert_eq!(kept_counts(&db, 3), [5, 3, 1, 1, 0, 0]);
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    let delivered = dq::event::parse_timestamp(stats["last_delivery"].as_str().unwrap()).unwrap();
    assert!(
        (chrono::Utc::now() - delivered).num_seconds() < 60,
        "{stats}"
    );
}
