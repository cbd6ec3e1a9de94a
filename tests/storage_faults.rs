//! Storage faults under `dq publish`: a full filesystem, a file-size limit, a read-only
//! database file, a file truncated or overwritten with garbage. Each gives a clear
//! `dq: error: ...`, exit code 1, and no existing row is lost or changed. (A write lock held
//! longer than the busy timeout is in `bad_input.rs`.)
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::queue::{count, fails, publish, read_only, succeeds};
use support::{TempDb, Tmpfs};

const RUNTIME: i32 = 1;

/// A database of 50 events, closed cleanly (no -wal file left).
fn fifty_events() -> TempDb {
    let db = TempDb::new();
    let input: String = (0..50)
        .map(|n| {
            format!(
                "{{\"event_type\":\"custom\",\"payload\":{{\"n\":{n},\"text\":\"{}\"}}}}\n",
                "x".repeat(300)
            )
        })
        .collect();
    use support::queue::WriteStdin;
    let output = db
        .dq()
        .args(["publish", "batch"])
        .write_stdin_and_wait(&input);
    assert!(output.status.success(), "{output:?}");
    db
}

/// A payload large enough to need new pages.
fn big_field() -> String {
    format!("text={}", "y".repeat(60_000))
}

#[test]
fn publish_on_a_full_filesystem_fails_and_keeps_every_row() {
    let source = fifty_events();
    let dir = tempfile::tempdir().unwrap();
    let Some(_mount) = Tmpfs::mount(&dir.path().join("small"), "256k") else {
        eprintln!(
            "skipped: cannot mount a tmpfs here (not root?); the file-size limit test covers it"
        );
        return;
    };
    let db = TempDb {
        path: dir.path().join("small/events.db"),
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::copy(source.path(), db.path()).unwrap();
    let before = db.dump();
    // Fill every remaining byte.
    let filler = dir.path().join("small/filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    fails(
        db.dq()
            .args(["publish", "event", "custom", "--field", &big_field()]),
        RUNTIME,
        "error",
    );
    fails(db.dq().args(["publish", "test"]), RUNTIME, "error");
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(db.dump(), before);
    // With space again, publishing works and gets the next id.
    assert_eq!(succeeds(db.dq().args(["publish", "test"])), "51\n");
}

#[test]
fn publish_past_the_file_size_limit_fails_and_keeps_every_row() {
    let db = fifty_events();
    let before = db.dump();
    let bytes = std::fs::read(db.path()).unwrap();
    // The limit (in KiB) lets the existing file be read but not grow by a 60 KB event; with
    // SIGXFSZ ignored, a write past it fails with EFBIG as a full disk would.
    let limit_kib = bytes.len() / 1024;
    let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" \"$@\"");
    let mut command = Command::new("bash");
    support::isolate(&mut command)
        .arg("-c")
        .arg(&script)
        .arg(support::dq().get_program())
        .arg("--db")
        .arg(db.path())
        .args(["publish", "event", "custom", "--field", &big_field()]);
    fails(&mut command, RUNTIME, "disk");
    assert_eq!(db.dump(), before);
    assert_eq!(std::fs::read(db.path()).unwrap(), bytes);
}

#[test]
fn publish_to_a_read_only_database_file_fails_and_reading_still_works() {
    let db = fifty_events();
    let before = db.dump();
    let Some(guard) = read_only(db.path()) else {
        return;
    };
    fails(
        db.dq().args(["publish", "test"]),
        RUNTIME,
        "readonly database",
    );
    fails(
        db.dq().args(["retry", "--all"]),
        RUNTIME,
        "readonly database",
    );
    let stats = succeeds(db.dq().args(["stats", "--json"]));
    assert!(stats.contains("\"total\":50"), "{stats}");
    drop(guard);
    assert_eq!(db.dump(), before);
    assert_eq!(succeeds(db.dq().args(["publish", "test"])), "51\n");
}

#[test]
fn a_truncated_database_is_reported_and_not_written_to() {
    let db = fifty_events();
    let bytes = std::fs::read(db.path()).unwrap();
    for length in [100, 4096, 6000, bytes.len() / 2, bytes.len() - 4096] {
        std::fs::write(db.path(), &bytes[..length]).unwrap();
        fails(db.dq().args(["publish", "test"]), RUNTIME, "malformed");
        assert_eq!(
            std::fs::read(db.path()).unwrap(),
            &bytes[..length],
            "dq wrote to a database truncated to {length} bytes"
        );
    }
}

#[test]
fn a_database_overwritten_with_garbage_is_reported_and_not_written_to() {
    let db = fifty_events();
    let bytes = std::fs::read(db.path()).unwrap();
    // Deterministic noise, not zeros, so no page looks empty.
    let noise: Vec<u8> = (0u32..8192)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    // Over the header: not a database at all.
    let mut header = bytes.clone();
    header[..4096].copy_from_slice(&noise[..4096]);
    std::fs::write(db.path(), &header).unwrap();
    fails(db.dq().args(["publish", "test"]), RUNTIME, "not a database");
    fails(db.dq().arg("stats"), RUNTIME, "not a database");
    assert_eq!(std::fs::read(db.path()).unwrap(), header);

    // Over table pages: the insert finds the damage and stores nothing.
    let mut pages = bytes.clone();
    pages[8192..16384].copy_from_slice(&noise);
    std::fs::write(db.path(), &pages).unwrap();
    fails(db.dq().args(["publish", "test"]), RUNTIME, "malformed");
    assert_eq!(std::fs::read(db.path()).unwrap(), pages);

    // Restored from the untouched copy, everything is there.
    std::fs::write(db.path(), &bytes).unwrap();
    assert_eq!(count(&db), 50);
    assert_eq!(publish(&db, "custom"), 51);
}
