//! Many `dq publish` processes writing to one file at once: every event is stored exactly
//! once, every process exits 0, and none reports "database is locked" — including the race
//! of several processes creating and migrating a file that does not exist yet.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use support::queue::count;
use support::TempDb;

/// Starts `writers` threads that each run `dq publish` `events` times in a row against `db`,
/// all starting together; returns every (writer, n, id) and every failure.
fn publish_concurrently(
    db: &TempDb,
    writers: usize,
    events: usize,
) -> (Vec<(usize, usize, i64)>, Vec<String>) {
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|writer| {
            let barrier = Arc::clone(&barrier);
            let path = db.path().to_path_buf();
            std::thread::spawn(move || {
                let mut stored = Vec::new();
                let mut failures = Vec::new();
                barrier.wait();
                for n in 0..events {
                    let output = support::dq()
                        .arg("--db")
                        .arg(&path)
                        .args(["publish", "event", "concurrent"])
                        .args(["--field", &format!("writer:={writer}")])
                        .args(["--field", &format!("n:={n}")])
                        .output()
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                    if !output.status.success() || !stderr.is_empty() {
                        failures.push(format!(
                            "writer {writer} event {n}: {:?} {stderr}",
                            output.status
                        ));
                        continue;
                    }
                    let id = String::from_utf8_lossy(&output.stdout)
                        .trim()
                        .parse()
                        .unwrap();
                    stored.push((writer, n, id));
                }
                (stored, failures)
            })
        })
        .collect();
    let mut stored = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        let (mut s, mut f) = handle.join().unwrap();
        stored.append(&mut s);
        failures.append(&mut f);
    }
    (stored, failures)
}

/// Every stored (writer, n) pair, read back from the file.
fn stored_pairs(db: &TempDb) -> BTreeSet<(i64, i64, i64)> {
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT id, json_extract(payload, '$.writer'), json_extract(payload, '$.n')
             FROM events",
        )
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(1)?, row.get(2)?, row.get(0)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn eight_processes_publishing_200_events_each_store_all_1600() {
    let db = TempDb::new();
    assert!(!db.path().exists());
    let (stored, failures) = publish_concurrently(&db, 8, 200);
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures[0]
    );
    assert_eq!(stored.len(), 1600);
    assert_eq!(count(&db), 1600);
    let ids: BTreeSet<i64> = stored.iter().map(|(_, _, id)| *id).collect();
    assert_eq!(ids.len(), 1600, "an id was printed twice");
    let printed: BTreeSet<(i64, i64, i64)> = stored
        .iter()
        .map(|&(writer, n, id)| (writer as i64, n as i64, id))
        .collect();
    assert_eq!(
        stored_pairs(&db),
        printed,
        "the printed ids do not match the rows"
    );
}

#[test]
fn processes_racing_to_create_a_new_database_all_succeed() {
    for round in 0..15 {
        let db = TempDb::new();
        let (stored, failures) = publish_concurrently(&db, 8, 1);
        assert!(failures.is_empty(), "round {round}: {failures:?}");
        assert_eq!(stored.len(), 8);
        assert_eq!(count(&db), 8, "round {round}");
    }
}
