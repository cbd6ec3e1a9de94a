//! Bad input of every kind gets a clear `dq: error: ...` on stderr, the right exit code (2 for
//! a usage error, 1 for a runtime failure), no panic, and leaves every stored row as it was.
#![allow(clippy::unwrap_used)]

mod support;

use support::queue::{
    dead_letter, fails, hold_write_lock, mark_processed, publish, read_only, succeeds, WriteStdin,
};
use support::SpawnRunning;
use support::TempDb;

/// A database holding a pending, a processed and a failed event (ids 1, 2, 3).
fn populated() -> TempDb {
    let db = TempDb::new();
    for _ in 0..3 {
        publish(&db, "custom");
    }
    mark_processed(&db, 2);
    dead_letter(&db, 3, "gone");
    db
}

const USAGE: i32 = 2;
const RUNTIME: i32 = 1;

#[test]
fn bad_command_lines_are_refused_and_change_nothing() {
    let big_payload = format!(r#"{{"text": "{}"}}"#, "x".repeat(64 * 1024));
    let cases: &[(&[&str], i32, &str)] = &[
        (&["bogus"], USAGE, "unrecognized subcommand 'bogus'"),
        (
            &["publish", "test", "--bogus"],
            USAGE,
            "unexpected argument '--bogus'",
        ),
        (
            &["publish", "nope"],
            USAGE,
            "unrecognized subcommand 'nope'",
        ),
        (&["publish"], USAGE, "Usage"),
        (&["stats", "--verbose"], USAGE, "--verbose"),
        (
            &["publish", "minecraft-status", "--status", "sleeping"],
            USAGE,
            "'sleeping' for '--status",
        ),
        (&["publish", "minecraft-status"], USAGE, "--status"),
        (
            &["publish", "codespace-status", "--action", "paused"],
            USAGE,
            "'paused' for '--action",
        ),
        (
            &[
                "publish",
                "backup-success",
                "--file",
                "f",
                "--size-mb",
                "big",
                "--duration",
                "1",
            ],
            USAGE,
            "'big' for '--size-mb",
        ),
        (
            &[
                "publish",
                "backup-success",
                "--file",
                "f",
                "--size-mb",
                "-1",
                "--duration",
                "1",
            ],
            USAGE,
            "'-1' for '--size-mb",
        ),
        (
            &[
                "publish",
                "backup-success",
                "--file",
                "f",
                "--size-mb",
                "NaN",
                "--duration",
                "1",
            ],
            USAGE,
            "'NaN' for '--size-mb",
        ),
        (
            &[
                "publish",
                "backup-success",
                "--file",
                "f",
                "--size-mb",
                "1",
                "--duration",
                "inf",
            ],
            USAGE,
            "'inf' for '--duration",
        ),
        (
            &["publish", "backup-error", "--error-type", "disk"],
            USAGE,
            "--message",
        ),
        (
            &[
                "publish",
                "backup-error",
                "--error-type",
                " ",
                "--message",
                "m",
            ],
            USAGE,
            "must not be empty",
        ),
        (
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--port",
                "0",
            ],
            USAGE,
            "'0' for '--port",
        ),
        (
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--port",
                "65536",
            ],
            USAGE,
            "'65536' for '--port",
        ),
        (
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--port",
                "-1",
            ],
            USAGE,
            "'-1' for '--port",
        ),
        (
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--port",
                "http",
            ],
            USAGE,
            "'http' for '--port",
        ),
        (
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--players",
                "-1",
            ],
            USAGE,
            "'-1' for '--players",
        ),
        (
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--players",
                "many",
            ],
            USAGE,
            "'many' for '--players",
        ),
        (&["publish", "event", "Backup"], USAGE, "invalid event type"),
        (
            &["publish", "event", "backup-error"],
            USAGE,
            "invalid event type",
        ),
        (&["publish", "event", ""], USAGE, "invalid event type"),
        (
            &["publish", "event", "x; DROP TABLE events"],
            USAGE,
            "invalid event type",
        ),
        (
            &["publish", "event", "custom", "--payload", "{not json"],
            USAGE,
            "not valid JSON",
        ),
        (
            &["publish", "event", "custom", "--payload", "[1, 2]"],
            USAGE,
            "must be a JSON object",
        ),
        (
            &["publish", "event", "custom", "--payload", "\"text\""],
            USAGE,
            "must be a JSON object",
        ),
        (
            &["publish", "event", "custom", "--payload", &big_payload],
            USAGE,
            "64 KiB",
        ),
        (
            &[
                "publish",
                "event",
                "custom",
                "--payload",
                "{}",
                "--field",
                "a=b",
            ],
            USAGE,
            "cannot be used with",
        ),
        (
            &["publish", "event", "custom", "--field", "novalue"],
            USAGE,
            "is not KEY=VALUE",
        ),
        (
            &["publish", "event", "custom", "--field", "=value"],
            USAGE,
            "empty key",
        ),
        (
            &["publish", "event", "custom", "--field", "n:=nope"],
            USAGE,
            "not valid JSON",
        ),
        (
            &[
                "publish",
                "codespace-status",
                "--action",
                "started",
                "--detail",
                "novalue",
            ],
            USAGE,
            "is not KEY=VALUE",
        ),
        (
            &["publish", "test", "--dedup-window", "1h"],
            USAGE,
            "--dedup-window needs --dedup-key",
        ),
        (
            &[
                "publish",
                "test",
                "--dedup-key",
                "k",
                "--dedup-window",
                "5w",
            ],
            USAGE,
            "unknown unit",
        ),
        (
            &["publish", "test", "--dedup-key", ""],
            USAGE,
            "1 to 256 bytes",
        ),
        (
            &["publish", "batch", "--dedup-key", "k"],
            USAGE,
            "dedup_key",
        ),
        (
            &["--max-attempts", "0", "stats"],
            USAGE,
            "'0' for '--max-attempts",
        ),
        (
            &["--busy-timeout-ms", "-5", "stats"],
            USAGE,
            "'-5' for '--busy-timeout-ms",
        ),
        (&["failed", "--limit", "0"], USAGE, "'0' for '--limit"),
        (&["retry"], USAGE, "required"),
        (&["retry", "0"], USAGE, "'0' for '[ID]...'"),
        (&["retry", "-3"], USAGE, "'-3' for '[ID]...'"),
        (&["retry", "abc"], USAGE, "'abc' for '[ID]...'"),
        (&["retry", "1", "--all"], USAGE, "cannot be used with"),
        (&["retry", "999"], RUNTIME, "no event with id 999"),
        (&["retry", "1"], RUNTIME, "event 1 is not failed"),
        (&["retry", "2"], RUNTIME, "event 2 is not failed"),
        (&["retry", "3", "2"], RUNTIME, "event 2 is not failed"),
        (&["cleanup", "--days", "-1"], USAGE, "'-1' for '--days"),
        (&["cleanup", "--days", "week"], USAGE, "'week' for '--days"),
        (&["completions", "tcsh"], USAGE, "'tcsh'"),
    ];
    let db = populated();
    let before = db.dump();
    for (args, code, needle) in cases {
        fails(db.dq().args(*args), *code, needle);
        assert_eq!(db.dump(), before, "dq {args:?} changed the rows");
    }
}

#[test]
fn bad_batches_are_refused_whole_and_name_the_line() {
    let good = r#"{"event_type": "custom", "payload": {}}"#;
    let big = format!(
        r#"{{"event_type": "custom", "payload": {{"text": "{}"}}}}"#,
        "x".repeat(64 * 1024)
    );
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{good}\nnot json\n{good}\n"),
            "line 2: not an event",
        ),
        (
            format!("{good}\n{good}\n{{\"event_type\": \"custom\"}}\n"),
            "line 3: not an event",
        ),
        (format!("{good}\n[1]\n"), "line 2: not an event"),
        (
            format!("{good}\n{{\"event_type\": \"custom\", \"payload\": [1]}}\n"),
            "line 2: not an event",
        ),
        (
            format!("{good}\n{{\"event_type\": \"custom\", \"payload\": {{}}, \"extra\": 1}}\n"),
            "unknown field `extra`",
        ),
        (
            format!("{good}\n\n{{\"event_type\": \"Bad Type\", \"payload\": {{}}}}\n"),
            "line 3: invalid event type",
        ),
        (format!("{good}\n{big}\n"), "line 2: payload is"),
        (
            format!(
                "{good}\n{{\"event_type\": \"custom\", \"payload\": {{}}, \"dedup_key\": \"\"}}\n"
            ),
            "line 2: dedup key",
        ),
        (
            format!("{good}\n{{\"event_type\": \"custom\", \"payload\": {{}}, \"user_id\": 5}}\n"),
            "line 2: not an event",
        ),
    ];
    let db = populated();
    let before = db.dump();
    for (input, needle) in &cases {
        let output = db
            .dq()
            .args(["publish", "batch"])
            .write_stdin_and_wait(input);
        let stderr = support::queue::stderr(&output);
        assert_eq!(output.status.code(), Some(USAGE), "{needle}: {stderr}");
        assert!(stderr.starts_with("dq: error: "), "{stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        assert!(output.stdout.is_empty());
        assert_eq!(db.dump(), before, "a bad batch changed the rows: {needle}");
    }
    // Bytes that are not UTF-8.
    let output = support::run_with_stdin(
        db.dq().args(["publish", "batch"]),
        b"{\"event_type\": \"custom\", \"payload\": {\"a\": \"\xff\xfe\"}}\n",
    );
    assert_eq!(output.status.code(), Some(USAGE), "{output:?}");
    assert!(support::queue::stderr(&output).contains("UTF-8"));
    assert_eq!(db.dump(), before);
}

#[test]
fn a_database_path_that_cannot_be_created_is_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let path = file.join("sub/events.db");
    fails(
        support::dq()
            .arg("--db")
            .arg(&path)
            .args(["publish", "test"]),
        RUNTIME,
        "creating directory",
    );
    fails(
        support::dq().arg("--db").arg(&path).arg("stats"),
        RUNTIME,
        "creating directory",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn a_database_in_a_read_only_directory_is_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let Some(_guard) = read_only(&locked) else {
        return;
    };
    for args in [&["publish", "test"][..], &["stats"], &["cleanup"]] {
        fails(
            support::dq()
                .arg("--db")
                .arg(locked.join("events.db"))
                .args(args),
            RUNTIME,
            "opening database",
        );
        fails(
            support::dq()
                .arg("--db")
                .arg(locked.join("missing/events.db"))
                .args(args),
            RUNTIME,
            "creating directory",
        );
    }
    assert_eq!(std::fs::read_dir(&locked).unwrap().count(), 0);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let text = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    for args in [
        &["publish", "test"][..],
        &["stats"],
        &["failed"],
        &["retry", "--all"],
        &["cleanup"],
    ] {
        fails(
            support::dq().arg("--db").arg(&path).args(args),
            RUNTIME,
            "not a database",
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_database_locked_longer_than_the_busy_timeout_is_a_runtime_error() {
    let db = populated();
    succeeds(db.dq().arg("stats"));
    let before = db.dump();
    let lock = hold_write_lock(&db);
    for args in [
        &["publish", "test"][..],
        &["retry", "3"],
        &["retry", "--all"],
        &["cleanup", "--days", "0"],
    ] {
        fails(
            db.dq().args(["--busy-timeout-ms", "100"]).args(args),
            RUNTIME,
            "database is locked",
        );
    }
    // Reading does not need the write lock.
    let stats = succeeds(
        db.dq()
            .args(["stats", "--json", "--busy-timeout-ms", "100"]),
    );
    assert!(stats.contains("\"total\":3"), "{stats}");
    drop(lock);
    assert_eq!(db.dump(), before);
    // Once the lock is gone, the same publish works.
    assert_eq!(succeeds(db.dq().args(["publish", "test"])), "4\n");
}

#[test]
fn a_lock_shorter_than_the_busy_timeout_is_waited_out() {
    let db = populated();
    succeeds(db.dq().arg("stats"));
    let lock = hold_write_lock(&db);
    let child = db
        .dq()
        .args(["--busy-timeout-ms", "20000", "publish", "test"])
        .stdout(std::process::Stdio::piped())
        .running();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(lock);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "4\n");
}
