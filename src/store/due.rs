//! Finding due events and dead letters in time that does not grow with the table: which
//! index each read seeks, and the statements that read them. The store's methods
//! ([`Store::claim`](super::Store::claim), `next_due`, `failed`, the oldest due event in
//! `stats`) call these inside their transactions.
//!
//! A scan of the unprocessed events in id order passes every dead letter, leased and waiting
//! event before the first due one; dead letters pile up when nobody looks, so such a claim
//! slows down exactly when it matters. Instead, the due events are read where each attempt
//! count starts in idx_ready (events with no lease and no backoff), the counts merged in id
//! order by SQLite; a claim first clears the leases and backoffs that have ended, so every
//! due event is in idx_ready. Every statement names its index (INDEXED BY) and the tests
//! check their query plans, so a planner change fails a test rather than slowing a claim.

use anyhow::{Context, Result};
use rusqlite::types::Value;
use rusqlite::{params, Connection};

use super::{event_from_row, EVENT_COLUMNS};
use crate::event::Event;

/// What idx_ready holds, as a query must say it for SQLite to use that partial index.
const READY: &str = "processed = 0 AND next_attempt_ms IS NULL AND lease_until_ms IS NULL";

/// Up to this many attempt counts are merged one by one; past it (only a file written by
/// another tool can hold so many different counts) they are read as one range and sorted,
/// which is slower but keeps well inside SQLite's 500 terms per compound select.
const MAX_MERGED_COUNTS: usize = 200;

/// A query of event ids, oldest or newest first and at most a number: SQL to use as a
/// subquery, with its parameters.
pub(super) struct Ids {
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
}

/// The ids due at `now_ms`, oldest first, at most `limit`. Most are in idx_ready: each
/// pending attempt count is read there in id order and SQLite merges them (a compound select
/// ordered by id reads each part lazily), so this reads about `limit` entries plus one per
/// count. The rest are events whose lease or backoff has ended but is still set (a claim
/// clears them; a read does not), found through the partial indexes that hold only events
/// with a lease or a backoff, and sorted: few while a consumer claims, since every claim
/// clears them. While nobody claims they are the backoffs that ended since the last claim,
/// all sorted by a read (100,000 of them: 10 ms to read one), until the next claim clears
/// them, once (100,000: 0.2 s under the write lock).
pub(super) fn due_ids(
    conn: &Connection,
    max_attempts: i64,
    now_ms: i64,
    limit: i64,
) -> Result<Ids> {
    let counts = attempt_counts(conn, Counts::Ready, max_attempts)?;
    let merged = counts.len() <= MAX_MERGED_COUNTS;
    let mut arms = if merged {
        per_count(
            &format!("SELECT id FROM events INDEXED BY idx_ready WHERE {READY} AND attempts = "),
            &counts,
            4,
        )
    } else {
        vec![format!(
            "SELECT id FROM events INDEXED BY idx_ready WHERE {READY} AND attempts < ?2"
        )]
    };
    arms.push(
        "SELECT id FROM events INDEXED BY idx_waiting
         WHERE processed = 0 AND next_attempt_ms <= ?1 AND attempts < ?2
            AND (lease_until_ms IS NULL OR lease_until_ms <= ?1)"
            .into(),
    );
    arms.push(
        "SELECT id FROM events INDEXED BY idx_leased
         WHERE processed = 0 AND lease_until_ms <= ?1 AND attempts < ?2
            AND next_attempt_ms IS NULL"
            .into(),
    );
    let mut params: Vec<Value> = vec![now_ms.into(), max_attempts.into(), limit.into()];
    if merged {
        params.extend(counts);
    }
    Ok(Ids {
        sql: format!("{} ORDER BY id LIMIT ?3", arms.join(" UNION ALL ")),
        params,
    })
}

/// The statement that reads the `due` events, or with `lease` leases them until the value of
/// one more parameter after `due`'s and returns them.
pub(super) fn due_events_sql(due: &Ids, lease: bool) -> String {
    if lease {
        format!(
            "UPDATE events SET lease_until_ms = ?{} WHERE id IN ({}) RETURNING {EVENT_COLUMNS}",
            due.params.len() + 1,
            due.sql
        )
    } else {
        format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({})",
            due.sql
        )
    }
}

/// Reads the events due at `now_ms` (see [`due_ids`]).
pub(super) fn select_due(
    conn: &Connection,
    max_attempts: i64,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<Event>> {
    let due = due_ids(conn, max_attempts, now_ms, limit)?;
    conn.prepare_cached(&due_events_sql(&due, false))?
        .query_map(rusqlite::params_from_iter(&due.params), event_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading due events")
}

/// Leases the events due at `now_ms` (see [`due_ids`]) until `until`, inside `tx`.
pub(super) fn lease_due(
    tx: &Connection,
    max_attempts: i64,
    now_ms: i64,
    limit: i64,
    until: i64,
) -> Result<Vec<Event>> {
    let mut due = due_ids(tx, max_attempts, now_ms, limit)?;
    let sql = due_events_sql(&due, true);
    due.params.push(until.into());
    tx.prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&due.params), event_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("claiming due events")
}

/// Clears the leases and backoffs that ended at or before `now_ms` inside `tx`, which puts
/// the events they held back in idx_ready. An ended one means the same as none to every rule
/// (due, leased, waiting, the next due time after now), so only where the claims find them
/// changes. Each is cleared once, found through the partial index that holds only events
/// with one set: the work is one update per lease or backoff, whatever the table holds.
pub(super) fn clear_ended(tx: &Connection, now_ms: i64) -> Result<()> {
    tx.prepare_cached(CLEAR_ENDED_LEASES)?
        .execute([now_ms])
        .context("clearing ended leases")?;
    tx.prepare_cached(CLEAR_ENDED_BACKOFFS)?
        .execute([now_ms])
        .context("clearing ended backoffs")?;
    Ok(())
}

const CLEAR_ENDED_LEASES: &str = "UPDATE events INDEXED BY idx_leased SET lease_until_ms = NULL
    WHERE processed = 0 AND lease_until_ms <= ?1";
const CLEAR_ENDED_BACKOFFS: &str = "UPDATE events INDEXED BY idx_waiting SET next_attempt_ms = NULL
    WHERE processed = 0 AND next_attempt_ms <= ?1";

/// [`Store::earliest_due_after`](super::Store::earliest_due_after)'s statement: ?1 is max_attempts, ?2 the time after which.
pub(super) fn earliest_due_sql() -> String {
    format!(
        "SELECT MIN(due) FROM (
            SELECT 0 AS due WHERE 0 > ?2 AND EXISTS (
                SELECT 1 FROM events INDEXED BY idx_ready
                WHERE {READY} AND attempts < ?1)
            UNION ALL
            SELECT (SELECT next_attempt_ms FROM events INDEXED BY idx_waiting
                WHERE processed = 0 AND next_attempt_ms > ?2 AND attempts < ?1
                    AND (lease_until_ms IS NULL OR lease_until_ms <= next_attempt_ms)
                ORDER BY next_attempt_ms LIMIT 1)
            UNION ALL
            SELECT (SELECT lease_until_ms FROM events INDEXED BY idx_leased
                WHERE processed = 0 AND lease_until_ms > ?2 AND attempts < ?1
                    AND (next_attempt_ms IS NULL OR next_attempt_ms < lease_until_ms)
                ORDER BY lease_until_ms LIMIT 1))"
    )
}

/// Which attempt counts [`attempt_counts`] lists.
#[derive(Debug, Clone, Copy)]
enum Counts {
    /// Below max_attempts, among the events in idx_ready.
    Ready,
    /// At or past max_attempts, among all unprocessed events.
    Dead,
}

/// The attempt counts that unprocessed events have, in order, as stored (an odd value from
/// another writer is matched exactly), at most one more than [`MAX_MERGED_COUNTS`]. Read from
/// the index itself, one seek per count (a skip scan), so no kept count can hide an event.
fn attempt_counts(conn: &Connection, counts: Counts, max_attempts: i64) -> Result<Vec<Value>> {
    conn.prepare_cached(&attempt_counts_sql(counts))?
        .query_map(params![max_attempts, MAX_MERGED_COUNTS as i64 + 1], |row| {
            row.get(0)
        })?
        .collect::<rusqlite::Result<_>>()
        .context("listing attempt counts")
}

/// [`attempt_counts`]' statement: ?1 is max_attempts, ?2 how many rows to read at most (one
/// more than the counts, for the end).
fn attempt_counts_sql(counts: Counts) -> String {
    // The next count's search has one lower bound, the count before it: with max_attempts as
    // a second one, SQLite may seek to that instead and walk every event of the first count.
    let (index, first, next) = match counts {
        Counts::Ready => (
            "idx_ready",
            format!("{READY} AND attempts < ?1"),
            format!("{READY} AND attempts > counts.attempts AND attempts < ?1"),
        ),
        Counts::Dead => (
            "idx_processed",
            "processed = 0 AND attempts >= ?1".to_string(),
            "processed = 0 AND attempts > counts.attempts".to_string(),
        ),
    };
    format!(
        "WITH RECURSIVE counts(attempts) AS (
            SELECT MIN(attempts) FROM events INDEXED BY {index} WHERE {first}
            UNION ALL
            SELECT (SELECT MIN(attempts) FROM events INDEXED BY {index} WHERE {next})
            FROM counts WHERE counts.attempts IS NOT NULL LIMIT ?2)
         SELECT attempts FROM counts WHERE attempts IS NOT NULL"
    )
}

/// One select per attempt count: `select` ends where the count goes, given as the numbered
/// parameters from `?first` on.
fn per_count(select: &str, counts: &[Value], first: usize) -> Vec<String> {
    (0..counts.len())
        .map(|index| format!("{select}?{}", first + index))
        .collect()
}

/// The ids of the `limit` newest dead letters, as [`Store::failed`](super::Store::failed) reads them; `None` when
/// there are none.
pub(super) fn newest_failed(
    conn: &Connection,
    max_attempts: i64,
    limit: i64,
) -> Result<Option<Ids>> {
    let counts = attempt_counts(conn, Counts::Dead, max_attempts)?;
    if counts.is_empty() {
        return Ok(None);
    }
    let mut params: Vec<Value> = vec![max_attempts.into(), limit.into()];
    let newest = if counts.len() <= MAX_MERGED_COUNTS {
        let arms = per_count(
            "SELECT id FROM events INDEXED BY idx_processed WHERE processed = 0 AND attempts = ",
            &counts,
            3,
        );
        params.extend(counts);
        arms.join(" UNION ALL ")
    } else {
        "SELECT id FROM events INDEXED BY idx_processed WHERE processed = 0 AND attempts >= ?1"
            .to_string()
    };
    Ok(Some(Ids {
        sql: format!("{newest} ORDER BY id DESC LIMIT ?2"),
        params,
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use rusqlite::params;

    use super::super::tests::{at, lease, publish, retryable, store};
    use super::super::{Failure, Store};
    use super::*;

    /// The query plan of `sql`: (id, parent id, detail) for each step.
    fn plan(store: &Store, sql: &str, params: &[Value]) -> Vec<(i64, i64, String)> {
        store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params_from_iter(params), |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(3)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A store holding events in every state: due with 0, 1 and 2 attempts, leased, waiting
    /// out a backoff, dead-lettered with 3 and 4 attempts, processed. Returns it and the time
    /// at which it is so.
    fn store_in_every_state() -> (Store, DateTime<Utc>) {
        let mut store = store();
        let ids = publish(&mut store, 9, at(0));
        let failure = |retry_after: u64| Failure {
            retry_after: Some(Duration::from_secs(retry_after)),
            ..retryable("502")
        };
        for (id, failures) in [
            (ids[1], 1),
            (ids[2], 2),
            (ids[3], 3),
            (ids[4], 4),
            (ids[5], 1),
        ] {
            for _ in 0..failures {
                store.mark_failed(id, &failure(1), at(0)).unwrap();
            }
        }
        store.mark_failed(ids[5], &failure(3600), at(0)).unwrap();
        store.mark_processed(ids[6], at(0)).unwrap();
        (store, at(10))
    }

    /// Asserts that `sql` reads the events table only through `searches` (each step's detail
    /// as SQLite words it, and how many times it occurs), and sorts only the rows of the
    /// searches named in `sorted`, each on its own: nothing scans, and no sort gathers the
    /// rows of an index that the statement is meant to read in order and stop early.
    fn assert_reads(
        store: &Store,
        sql: &str,
        params: &[Value],
        searches: &[(&str, usize)],
        sorted: &[&str],
    ) {
        let plan = plan(store, sql, params);
        let shown = format!("{sql}\n{plan:#?}");
        let on_events: Vec<&str> = plan
            .iter()
            .map(|(_, _, detail)| detail.as_str())
            .filter(|detail| detail.contains(" events"))
            .collect();
        for (search, times) in searches {
            let found = on_events.iter().filter(|detail| *detail == search).count();
            assert_eq!(found, *times, "{search} in {shown}");
        }
        assert_eq!(
            on_events.len(),
            searches.iter().map(|(_, times)| times).sum::<usize>(),
            "a read of events not listed in {shown}"
        );
        let sorts: Vec<i64> = plan
            .iter()
            .filter(|(_, _, detail)| detail.starts_with("USE TEMP B-TREE"))
            .map(|(_, parent, _)| *parent)
            .collect();
        let mut sorted_parents: Vec<i64> = plan
            .iter()
            .filter(|(_, _, detail)| sorted.contains(&detail.as_str()))
            .map(|(_, parent, _)| *parent)
            .collect();
        sorted_parents.sort_unstable();
        let mut sorts_sorted = sorts.clone();
        sorts_sorted.sort_unstable();
        assert_eq!(sorts_sorted, sorted_parents, "sorts in {shown}");
    }

    #[test]
    fn claims_and_reads_seek_the_indexes_that_keep_them_short() {
        let (mut store, now) = store_in_every_state();
        store.claim(lease(60, 1), now).unwrap();
        let max = store.policy.max_attempts;
        let now_ms = now.timestamp_millis();
        let ready = "SEARCH events USING INDEX idx_ready (attempts=?)";
        let ended_backoffs = "SEARCH events USING COVERING INDEX idx_waiting (next_attempt_ms<?)";
        let ended_leases = "SEARCH events USING INDEX idx_leased (lease_until_ms<?)";
        let by_id = "SEARCH events USING INTEGER PRIMARY KEY (rowid=?)";
        // Due with 0, 1 and 2 attempts: one merged seek each, the ended leases and backoffs
        // not yet cleared sorted apart; then the rows by id (and leased, for a claim).
        let due = due_ids(&store.conn, max, now_ms, 10).unwrap();
        let mut leasing = due.params.clone();
        leasing.push(0.into());
        for (lease, params) in [(false, &due.params), (true, &leasing)] {
            assert_reads(
                &store,
                &due_events_sql(&due, lease),
                params,
                &[
                    (ready, 3),
                    (ended_backoffs, 1),
                    (ended_leases, 1),
                    (by_id, 1),
                ],
                &[ended_backoffs, ended_leases],
            );
        }
        // The attempt counts: one seek each.
        let counts = [max.into(), 10.into()];
        assert_reads(
            &store,
            &attempt_counts_sql(Counts::Ready),
            &counts,
            &[
                ("SEARCH events USING INDEX idx_ready (attempts<?)", 1),
                (
                    "SEARCH events USING INDEX idx_ready (attempts>? AND attempts<?)",
                    1,
                ),
            ],
            &[],
        );
        let dead = "SEARCH events USING COVERING INDEX idx_processed (processed=? AND attempts>?)";
        assert_reads(
            &store,
            &attempt_counts_sql(Counts::Dead),
            &counts,
            &[(dead, 2)],
            &[],
        );
        // Dead letters with 3 and 4 attempts, newest first from each, merged.
        let newest = newest_failed(&store.conn, max, 10).unwrap().unwrap();
        assert_reads(
            &store,
            &newest.sql,
            &newest.params,
            &[(
                "SEARCH events USING COVERING INDEX idx_processed (processed=? AND attempts=?)",
                2,
            )],
            &[],
        );
        assert_reads(
            &store,
            &earliest_due_sql(),
            &[max.into(), now_ms.into()],
            &[
                ("SEARCH events USING INDEX idx_ready (attempts<?)", 1),
                (
                    "SEARCH events USING COVERING INDEX idx_waiting (next_attempt_ms>?)",
                    1,
                ),
                ("SEARCH events USING INDEX idx_leased (lease_until_ms>?)", 1),
            ],
            &[],
        );
        assert_reads(
            &store,
            CLEAR_ENDED_LEASES,
            &[now_ms.into()],
            &[("SEARCH events USING INDEX idx_leased (lease_until_ms<?)", 1)],
            &[],
        );
        assert_reads(
            &store,
            CLEAR_ENDED_BACKOFFS,
            &[now_ms.into()],
            &[(
                "SEARCH events USING INDEX idx_waiting (next_attempt_ms<?)",
                1,
            )],
            &[],
        );
    }

    /// A store whose oldest `head` events are dead letters (3 and 4 attempts), processed,
    /// leased and waiting out a backoff (1 and 2 attempts), in turn, followed by the same 16
    /// events in any case: due with 0, 1 and 2 attempts, two whose lease ended and two whose
    /// backoff ended (as an older dq leaves them), and a dead letter. Returns it and the time
    /// at which it is so.
    fn crowded(head: usize) -> (Store, DateTime<Utc>) {
        let mut store = store();
        let ids = publish(&mut store, head + 16, at(0));
        let (ended, later) = (at(5).timestamp_millis(), at(3600).timestamp_millis());
        let tx = store.conn.unchecked_transaction().unwrap();
        let shape =
            |id: i64, processed: i64, attempts: i64, next: Option<i64>, lease: Option<i64>| {
                tx.execute(
                    "UPDATE events SET processed = ?2, attempts = ?3, next_attempt_ms = ?4,
                    lease_until_ms = ?5 WHERE id = ?1",
                    params![id, processed, attempts, next, lease],
                )
                .unwrap();
            };
        for (index, id) in ids[..head].iter().enumerate() {
            match index % 6 {
                0 => shape(*id, 0, 3, None, None),
                1 => shape(*id, 0, 4, None, None),
                2 => shape(*id, 1, 0, None, None),
                3 => shape(*id, 0, 0, None, Some(later)),
                4 => shape(*id, 0, 1, Some(later), None),
                _ => shape(*id, 0, 2, Some(later), None),
            }
        }
        for (index, id) in ids[head..].iter().enumerate() {
            match index {
                0..12 => shape(*id, 0, index as i64 % 3, None, None),
                12 | 13 => shape(*id, 0, 0, None, Some(ended)),
                14 => shape(*id, 0, 1, Some(ended), None),
                _ => shape(*id, 0, 3, None, None),
            }
        }
        tx.commit().unwrap();
        (store, at(10))
    }

    /// How many steps SQLite's virtual machine takes to run `sql` to the end (rolled back):
    /// the work it does, counted rather than timed, so a slow machine cannot change it.
    fn steps(store: &Store, sql: &str, params: &[Value]) -> i32 {
        let tx = store.conn.unchecked_transaction().unwrap();
        let mut statement = tx.prepare(sql).unwrap();
        let mut rows = statement.query(rusqlite::params_from_iter(params)).unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        statement.get_status(rusqlite::StatementStatus::VmStep)
    }

    #[test]
    fn the_work_of_claims_and_reads_does_not_grow_with_the_events_they_pass() {
        let work = |head: usize| -> Vec<(String, i32)> {
            let (store, now) = crowded(head);
            let max = store.policy.max_attempts;
            let now_ms = now.timestamp_millis();
            let due = due_ids(&store.conn, max, now_ms, 10).unwrap();
            let mut leasing = due.params.clone();
            leasing.push(0.into());
            let newest = newest_failed(&store.conn, max, 10).unwrap().unwrap();
            let counts = [max.into(), 10.into()];
            [
                ("read due", due_events_sql(&due, false), due.params.clone()),
                ("lease due", due_events_sql(&due, true), leasing),
                (
                    "ready counts",
                    attempt_counts_sql(Counts::Ready),
                    counts.to_vec(),
                ),
                (
                    "dead counts",
                    attempt_counts_sql(Counts::Dead),
                    counts.to_vec(),
                ),
                ("newest failed", newest.sql, newest.params),
                (
                    "next due",
                    earliest_due_sql(),
                    vec![max.into(), i64::MIN.into()],
                ),
                (
                    "next due after",
                    earliest_due_sql(),
                    vec![max.into(), now_ms.into()],
                ),
                (
                    "clear leases",
                    CLEAR_ENDED_LEASES.into(),
                    vec![now_ms.into()],
                ),
                (
                    "clear backoffs",
                    CLEAR_ENDED_BACKOFFS.into(),
                    vec![now_ms.into()],
                ),
            ]
            .into_iter()
            .map(|(name, sql, params)| (name.to_string(), steps(&store, &sql, &params)))
            .collect()
        };
        // 60 or 6,000 events to pass: the same work.
        assert_eq!(work(60), work(6_000));
    }

    #[test]
    fn a_claim_clears_the_leases_and_backoffs_that_ended_and_no_other() {
        let (mut store, now) = store_in_every_state();
        store.claim(lease(5, 9), at(0)).unwrap();
        let set = |store: &Store| -> (i64, i64) {
            store
                .conn
                .query_row(
                    "SELECT COUNT(lease_until_ms), COUNT(next_attempt_ms) FROM events",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap()
        };
        // Leased: the 3 due with no attempts; waiting: 1 s for two, an hour for one.
        assert_eq!(set(&store), (3, 3));
        let claimed = store.claim(lease(60, 9), now).unwrap();
        // The three leases (5 s) and two backoffs (1 s) ended and were cleared before the
        // claim leased all five again; the hour-long backoff stays.
        assert_eq!(claimed.len(), 5);
        assert_eq!(set(&store), (5, 1));
        // A read changes nothing.
        store.claim(lease(0, 9), at(100)).unwrap();
        assert_eq!(set(&store), (5, 1));
    }

    #[test]
    fn hundreds_of_attempt_counts_are_read_as_one_range() {
        let mut store = store();
        let ids = publish(&mut store, 500, at(0));
        // Odd counts another writer could leave: 250 different ones below max_attempts
        // (negative), 250 past it.
        for (index, id) in ids.iter().enumerate() {
            let attempts = if index % 2 == 0 {
                -(index as i64)
            } else {
                3 + index as i64
            };
            store
                .conn
                .execute(
                    "UPDATE events SET attempts = ?2 WHERE id = ?1",
                    params![id, attempts],
                )
                .unwrap();
        }
        let read = store.claim(lease(0, 3), at(1)).unwrap();
        assert_eq!(
            read.iter().map(|event| event.id).collect::<Vec<_>>(),
            [ids[0], ids[2], ids[4]]
        );
        let claimed = store.claim(lease(60, 2), at(1)).unwrap();
        assert_eq!(claimed[1].id, ids[2]);
        let failed = store.failed(2).unwrap();
        assert_eq!(
            failed.iter().map(|event| event.id).collect::<Vec<_>>(),
            [ids[497], ids[499]]
        );
        assert_eq!(store.stats(at(1)).unwrap().oldest_due_age_seconds, 1.0);
    }

    #[test]
    fn next_due_counts_a_lease_and_a_backoff_that_end_together() {
        let mut store = store();
        let id = publish(&mut store, 1, at(0))[0];
        // As a dq from before the ready index leaves an event it claimed after a backoff.
        let end = at(30).timestamp_millis();
        store
            .conn
            .execute(
                "UPDATE events SET attempts = 1, next_attempt_ms = ?2, lease_until_ms = ?2
                 WHERE id = ?1",
                params![id, end],
            )
            .unwrap();
        assert_eq!(store.next_due().unwrap(), Some(at(30)));
        assert_eq!(store.next_due_after(at(0)).unwrap(), Some(at(30)));
        assert_eq!(store.next_due_after(at(30)).unwrap(), None);
    }
}
