//! Helpers for the queue's tests (publish, admin commands, bad input, legacy databases): run
//! the binary and check how it ended, read stored payloads, and put events in a given state.

use std::process::{Command, Output};
use std::time::Duration;

use chrono::Utc;
use dq::store::{Failure, Policy, Store};
use serde_json::Value;

use super::TempDb;

/// Runs a command and returns what it did, with stdin closed unless the command set one.
pub fn run(command: &mut Command) -> Output {
    command.output().expect("running dq")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn succeeds(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "expected success from {command:?}\nstdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Asserts the exit code, that stderr is one `dq: error: ...` message containing `needle`
/// (no panic, no backtrace) and that stdout is empty; returns stderr.
pub fn fails(command: &mut Command, code: i32, needle: &str) -> String {
    let output = run(command);
    let message = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "wrong exit code from {command:?}\nstdout: {}\nstderr: {message}",
        stdout(&output)
    );
    assert!(
        message.starts_with("dq: error: "),
        "stderr of {command:?} is not `dq: error: ...`: {message}"
    );
    assert!(
        message.contains(needle),
        "stderr of {command:?} does not mention {needle:?}: {message}"
    );
    assert!(
        !message.contains("panicked") && !message.contains("RUST_BACKTRACE"),
        "{command:?} panicked: {message}"
    );
    assert!(
        output.stdout.is_empty(),
        "{command:?} printed on stdout: {}",
        stdout(&output)
    );
    message
}

/// Parses stdout as one JSON document.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// Publishes an event of type `kind` with an empty payload and returns its id.
pub fn publish(db: &TempDb, kind: &str) -> i64 {
    succeeds(db.dq().args(["publish", "event", kind]))
        .trim()
        .parse()
        .expect("publish printed an id")
}

/// One stored row's columns as dq reads them.
pub struct Row {
    pub user_id: String,
    pub event_type: String,
    pub payload: Value,
    pub payload_text: String,
    pub created_at: String,
    pub processed: i64,
    pub attempts: i64,
    pub dedup_key: Option<String>,
}

pub fn row(db: &TempDb, id: i64) -> Row {
    let conn = rusqlite::Connection::open(db.path()).expect("opening the test database");
    conn.query_row(
        "SELECT user_id, event_type, payload, created_at, processed, attempts, dedup_key
         FROM events WHERE id = ?1",
        [id],
        |row| {
            let payload_text: String = row.get(2)?;
            Ok(Row {
                user_id: row.get(0)?,
                event_type: row.get(1)?,
                payload: serde_json::from_str(&payload_text).unwrap_or(Value::Null),
                payload_text,
                created_at: row.get(3)?,
                processed: row.get(4)?,
                attempts: row.get(5)?,
                dedup_key: row.get(6)?,
            })
        },
    )
    .unwrap_or_else(|error| panic!("reading event {id}: {error}"))
}

pub fn count(db: &TempDb) -> i64 {
    let conn = rusqlite::Connection::open(db.path()).expect("opening the test database");
    conn.query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
        .expect("counting events")
}

/// Total, pending, processed, failed, leased and waiting as a full scan of the rows finds
/// them: how `stats` counted before the counts were kept, and the reference they must equal.
pub fn scanned_counts(conn: &rusqlite::Connection, max_attempts: i64, now_ms: i64) -> [i64; 6] {
    conn.query_row(
        "SELECT COUNT(*),
            COALESCE(SUM(processed = 0 AND attempts < ?1), 0),
            COALESCE(SUM(processed = 1), 0),
            COALESCE(SUM(processed = 0 AND attempts >= ?1), 0),
            COALESCE(SUM(processed = 0 AND attempts < ?1 AND lease_until_ms > ?2), 0),
            COALESCE(SUM(processed = 0 AND attempts < ?1 AND next_attempt_ms > ?2
                AND (lease_until_ms IS NULL OR lease_until_ms <= ?2)), 0)
         FROM events",
        rusqlite::params![max_attempts, now_ms],
        |row| {
            Ok([
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ])
        },
    )
    .unwrap()
}

/// The store on the test database, as the consumer would use it.
pub fn store(db: &TempDb) -> Store {
    Store::open(db.path(), Policy::default(), Duration::from_secs(5)).expect("opening the store")
}

/// Dead-letters `id` as a permanent failure with `message`.
pub fn dead_letter(db: &TempDb, id: i64, message: &str) {
    let failure = Failure {
        message: message.into(),
        retryable: false,
        retry_after: None,
    };
    store(db)
        .mark_failed(id, &failure, Utc::now())
        .expect("dead-lettering the event");
}

pub fn mark_processed(db: &TempDb, id: i64) {
    store(db)
        .mark_processed(id, Utc::now())
        .expect("marking the event processed");
}

/// `Command::output` with `input` on stdin.
pub trait WriteStdin {
    fn write_stdin_and_wait(&mut self, input: &str) -> Output;
}

impl WriteStdin for Command {
    fn write_stdin_and_wait(&mut self, input: &str) -> Output {
        super::run_with_stdin(self, input)
    }
}

/// Keeps a file or directory read-only for as long as it lives, then makes it writable again
/// so the temporary directory can be removed.
pub struct ReadOnly {
    path: std::path::PathBuf,
    immutable: bool,
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = if self.path.is_dir() { 0o755 } else { 0o644 };
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode));
    }
}

fn writable(path: &std::path::Path) -> bool {
    if path.is_dir() {
        let probe = path.join(".dq-write-probe");
        let created = std::fs::File::create(&probe).is_ok();
        let _ = std::fs::remove_file(&probe);
        created
    } else {
        std::fs::OpenOptions::new().write(true).open(path).is_ok()
    }
}

/// Makes `path` read-only: by its mode bits, or, for root (whom mode bits do not stop), with
/// the immutable attribute (`chattr +i`). `None` when neither works here; the caller skips.
pub fn read_only(path: &std::path::Path) -> Option<ReadOnly> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o555 } else { 0o444 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).ok()?;
    let mut guard = ReadOnly {
        path: path.to_path_buf(),
        immutable: false,
    };
    if !writable(path) {
        return Some(guard);
    }
    let status = Command::new("chattr").arg("+i").arg(path).status();
    guard.immutable = status.is_ok_and(|status| status.success());
    if guard.immutable && !writable(path) {
        return Some(guard);
    }
    eprintln!("skipped: cannot make {} read-only here", path.display());
    None
}

/// Holds the database's write lock (`BEGIN IMMEDIATE`) until dropped, as another process
/// in the middle of a long write would.
pub fn hold_write_lock(db: &TempDb) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db.path()).expect("opening the test database");
    conn.execute_batch("BEGIN IMMEDIATE")
        .expect("taking the write lock");
    conn
}
