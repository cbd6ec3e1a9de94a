//! Property test of the queue's rules: for any sequence of publish, claim, mark processed,
//! mark failed, release, retry, cleanup and clock advances, and of the original Python
//! system's own writes to the same file, the store agrees with a simple model of what each
//! event's state must be. Counts stay consistent (total = pending + processed + failed;
//! leased and waiting are part of pending) and equal a full `COUNT(*)` of the rows for any
//! max_attempts, no event is handed to two claimers at once, and no event is lost: once
//! every lease and backoff has run out, every pending event can be claimed again.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone, Utc};
use dq::event::{parse_timestamp, NewEvent};
use dq::store::{Claim, Failure, Marked, Policy, Stats, Store, StoreError, DEFAULT_BUSY_TIMEOUT};
use proptest::prelude::*;
use rusqlite::{params, Connection};
use support::queue::scanned_counts;

#[derive(Debug, Clone)]
enum Operation {
    Publish(usize),
    Claim {
        limit: i64,
        lease_seconds: u64,
        /// Claimed as a dq from before the ready index does (a serve still running during an
        /// upgrade): the leases and backoffs that ended stay set.
        older: bool,
    },
    Processed(usize),
    Failed {
        event: usize,
        retryable: bool,
        retry_after: Option<u64>,
    },
    Release(usize),
    Retry(usize),
    RetryAll,
    Cleanup {
        older_than_seconds: u64,
        include_failed: bool,
    },
    /// The original publisher's insert: only the four columns it knew.
    PythonPublish,
    /// The original API's mark processed and mark failed, which know nothing of leases.
    PythonProcessed(usize),
    PythonFailed(usize),
    Advance(u64),
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        (1usize..4).prop_map(Operation::Publish),
        (1i64..5, 0u64..120, any::<bool>()).prop_map(|(limit, lease_seconds, older)| {
            Operation::Claim {
                limit,
                lease_seconds,
                older,
            }
        }),
        any::<usize>().prop_map(Operation::Processed),
        (any::<usize>(), any::<bool>(), prop::option::of(0u64..300)).prop_map(
            |(event, retryable, retry_after)| Operation::Failed {
                event,
                retryable,
                retry_after
            }
        ),
        any::<usize>().prop_map(Operation::Release),
        any::<usize>().prop_map(Operation::Retry),
        Just(Operation::RetryAll),
        (0u64..1800, any::<bool>()).prop_map(|(older_than_seconds, include_failed)| {
            Operation::Cleanup {
                older_than_seconds,
                include_failed,
            }
        }),
        Just(Operation::PythonPublish),
        any::<usize>().prop_map(Operation::PythonProcessed),
        any::<usize>().prop_map(Operation::PythonFailed),
        (0u64..900).prop_map(Operation::Advance),
    ]
}

/// What the model knows of one event.
#[derive(Debug, Clone)]
struct Model {
    created: DateTime<Utc>,
    processed: bool,
    attempts: i64,
    /// Unix milliseconds until which a claimer holds it.
    leased_until: Option<i64>,
    /// Unix milliseconds before which it is not due; `None` with `backoff_unknown` when the
    /// store chose a jittered backoff.
    due_at: Option<i64>,
    backoff_unknown: bool,
}

impl Model {
    fn new(created: DateTime<Utc>) -> Model {
        Model {
            created,
            processed: false,
            attempts: 0,
            leased_until: None,
            due_at: None,
            backoff_unknown: false,
        }
    }
    fn dead(&self, max_attempts: i64) -> bool {
        !self.processed && self.attempts >= max_attempts
    }
    fn pending(&self, max_attempts: i64) -> bool {
        !self.processed && self.attempts < max_attempts
    }
    fn leased(&self, now: i64) -> bool {
        self.leased_until.is_some_and(|until| until > now)
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn new_event() -> NewEvent {
    NewEvent {
        event_type: "custom".into(),
        payload: serde_json::Map::new(),
        user_id: String::new(),
        dedup_key: None,
        presentation: Default::default(),
    }
}

/// The age of the oldest due event as a scan in id order finds it.
fn scanned_oldest_due_age(conn: &Connection, max_attempts: i64, now: DateTime<Utc>) -> f64 {
    let created: Option<String> = conn
        .query_row(
            "SELECT created_at FROM events WHERE processed = 0 AND attempts < ?1
                AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?2)
                AND (lease_until_ms IS NULL OR lease_until_ms <= ?2)
             ORDER BY id LIMIT 1",
            params![max_attempts, now.timestamp_millis()],
            |row| row.get(0),
        )
        .ok();
    created
        .and_then(|created| parse_timestamp(&created))
        .map_or(0.0, |created| {
            (now - created).num_milliseconds().max(0) as f64 / 1000.0
        })
}

/// Every due event's id, oldest first, as a scan in id order finds them.
fn scanned_due(conn: &Connection, max_attempts: i64, now_ms: i64) -> Vec<i64> {
    conn.prepare(
        "SELECT id FROM events NOT INDEXED WHERE processed = 0 AND attempts < ?1
            AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?2)
            AND (lease_until_ms IS NULL OR lease_until_ms <= ?2)
         ORDER BY id",
    )
    .unwrap()
    .query_map(params![max_attempts, now_ms], |row| row.get(0))
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Every dead letter's id, oldest first, as a scan finds them.
fn scanned_failed(conn: &Connection, max_attempts: i64) -> Vec<i64> {
    conn.prepare(
        "SELECT id FROM events NOT INDEXED WHERE processed = 0 AND attempts >= ?1 ORDER BY id",
    )
    .unwrap()
    .query_map([max_attempts], |row| row.get(0))
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// When the next pending event is due (after `after`, if given), as a scan of every pending
/// event finds it: the later of its backoff's and its lease's end, 0 with neither.
fn scanned_next_due(conn: &Connection, max_attempts: i64, after: Option<i64>) -> Option<i64> {
    conn.query_row(
        "SELECT MIN(due) FROM (
            SELECT MAX(COALESCE(next_attempt_ms, 0), COALESCE(lease_until_ms, 0)) AS due
            FROM events NOT INDEXED WHERE processed = 0 AND attempts < ?1)
         WHERE ?2 IS NULL OR due > ?2",
        params![max_attempts, after],
        |row| row.get(0),
    )
    .unwrap()
}

/// A claim as dq made it before the ready index (a serve still running while a newer dq
/// migrates the file): the first due ids in id order, leased, and the leases and backoffs
/// that ended left as they are. Returns the ids handed out.
fn older_claim(
    conn: &Connection,
    max_attempts: i64,
    limit: i64,
    lease: Duration,
    now_ms: i64,
) -> Vec<i64> {
    let due = "SELECT id FROM events WHERE processed = 0 AND attempts < ?1
        AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?2)
        AND (lease_until_ms IS NULL OR lease_until_ms <= ?2)
        ORDER BY id LIMIT ?3";
    let until = now_ms + lease.as_millis() as i64;
    let sql = if lease.is_zero() {
        due.to_string()
    } else {
        format!("UPDATE events SET lease_until_ms = ?4 WHERE id IN ({due}) RETURNING id")
    };
    let mut parameters = vec![max_attempts, now_ms, limit];
    if !lease.is_zero() {
        parameters.push(until);
    }
    conn.prepare(&sql)
        .unwrap()
        .query_map(rusqlite::params_from_iter(parameters), |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn counts(stats: &Stats) -> [i64; 6] {
    [
        stats.total,
        stats.pending,
        stats.processed,
        stats.failed,
        stats.leased,
        stats.waiting,
    ]
}

/// `datetime.now().isoformat()`, as the original wrote its timestamps: naive local time.
fn python_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// A database file on tmpfs where there is one: a publish syncs, and the cases are many.
fn database_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

fn check(operations: &[Operation]) -> Result<(), TestCaseError> {
    let policy = Policy::default();
    let max = policy.max_attempts;
    let dir = database_dir();
    let path = dir.path().join("events.db");
    let mut store = Store::open(&path, policy, DEFAULT_BUSY_TIMEOUT).unwrap();
    // The same file seen with other max_attempts (each command may set its own), and as
    // the original Python system sees it.
    let mut others: Vec<Store> = [1, 2, 4]
        .into_iter()
        .map(|max_attempts| {
            let policy = Policy {
                max_attempts,
                ..policy
            };
            Store::open(&path, policy, DEFAULT_BUSY_TIMEOUT).unwrap()
        })
        .collect();
    let python = Connection::open(&path).unwrap();
    let mut models: BTreeMap<i64, Model> = BTreeMap::new();
    let mut last_delivery: Option<DateTime<Utc>> = None;
    let mut now = start();
    let pick = |models: &BTreeMap<i64, Model>, index: usize| -> Option<i64> {
        (!models.is_empty()).then(|| *models.keys().nth(index % models.len()).unwrap())
    };
    for operation in operations {
        let now_ms = now.timestamp_millis();
        match *operation {
            Operation::Publish(count) => {
                let published = store
                    .publish(&vec![new_event(); count], Duration::ZERO, now)
                    .unwrap();
                for item in published {
                    prop_assert!(models.insert(item.id, Model::new(now)).is_none());
                }
            }
            Operation::Claim {
                limit,
                lease_seconds,
                older,
            } => {
                let lease = Duration::from_secs(lease_seconds);
                let ids: Vec<i64> = if older {
                    older_claim(&python, max, limit, lease, now_ms)
                } else {
                    let events = store.claim(Claim { limit, lease }, now).unwrap();
                    events.into_iter().map(|event| event.id).collect()
                };
                prop_assert!(ids.len() as i64 <= limit);
                for id in ids {
                    let model = models.get_mut(&id).unwrap();
                    prop_assert!(model.pending(max), "claimed a settled event {}", id);
                    prop_assert!(
                        !model.leased(now_ms),
                        "event {} handed out while another claimer holds it",
                        id
                    );
                    if let Some(due) = model.due_at {
                        prop_assert!(due <= now_ms, "event {} handed out during its backoff", id);
                    }
                    model.due_at = None;
                    model.backoff_unknown = false;
                    if lease_seconds > 0 {
                        model.leased_until = Some(now_ms + 1000 * lease_seconds as i64);
                    }
                }
            }
            Operation::Processed(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                let marked = store.mark_processed(id, now).unwrap();
                let model = models.get_mut(&id).unwrap();
                prop_assert_eq!(
                    marked,
                    if model.processed {
                        Marked::AlreadyProcessed
                    } else {
                        Marked::Processed
                    }
                );
                if !model.processed {
                    last_delivery = Some(now);
                }
                model.processed = true;
                model.leased_until = None;
                model.due_at = None;
            }
            Operation::Failed {
                event,
                retryable,
                retry_after,
            } => {
                let Some(id) = pick(&models, event) else {
                    continue;
                };
                let failure = Failure {
                    message: "boom".into(),
                    retryable,
                    retry_after: retry_after.map(Duration::from_secs),
                };
                let marked = store.mark_failed(id, &failure, now).unwrap();
                let model = models.get_mut(&id).unwrap();
                if model.processed {
                    prop_assert_eq!(marked, Marked::AlreadyProcessed);
                    continue;
                }
                model.attempts = if retryable {
                    model.attempts + 1
                } else {
                    (model.attempts + 1).max(max)
                };
                model.leased_until = None;
                let dead = model.attempts >= max;
                prop_assert_eq!(
                    marked,
                    if dead {
                        Marked::DeadLettered
                    } else {
                        Marked::WillRetry
                    }
                );
                model.due_at = None;
                model.backoff_unknown = false;
                if !dead {
                    match retry_after {
                        Some(seconds) => model.due_at = Some(now_ms + 1000 * seconds as i64),
                        None => model.backoff_unknown = true,
                    }
                }
            }
            Operation::Release(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                store.release(&[id]).unwrap();
                let model = models.get_mut(&id).unwrap();
                if !model.processed {
                    model.leased_until = None;
                }
            }
            Operation::Retry(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                let model = models.get_mut(&id).unwrap();
                match store.retry(&[id]) {
                    Ok(count) => {
                        prop_assert!(model.dead(max), "retried event {id} was not failed");
                        prop_assert_eq!(count, 1);
                        *model = Model::new(model.created);
                    }
                    Err(error) => {
                        prop_assert!(!model.dead(max), "a failed event {id} was not retried");
                        prop_assert_eq!(
                            error.downcast_ref::<StoreError>(),
                            Some(&StoreError::NotFailed(id))
                        );
                    }
                }
            }
            Operation::RetryAll => {
                let dead = models.values().filter(|model| model.dead(max)).count();
                prop_assert_eq!(store.retry_all().unwrap(), dead);
                for model in models.values_mut().filter(|model| model.dead(max)) {
                    *model = Model::new(model.created);
                }
            }
            Operation::Cleanup {
                older_than_seconds,
                include_failed,
            } => {
                let before = now - chrono::Duration::seconds(older_than_seconds as i64);
                let old = |model: &Model| {
                    model.created < before && (model.processed || include_failed && model.dead(max))
                };
                let expected = models.values().filter(|model| old(model)).count();
                prop_assert_eq!(store.cleanup(before, include_failed).unwrap(), expected);
                models.retain(|_, model| !old(model));
            }
            Operation::PythonPublish => {
                python
                    .execute(
                        "INSERT INTO events (user_id, event_type, payload, created_at)
                         VALUES ('', 'custom', '{}', ?1)",
                        [python_time(now)],
                    )
                    .unwrap();
                models.insert(python.last_insert_rowid(), Model::new(now));
            }
            Operation::PythonProcessed(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                python
                    .execute(
                        "UPDATE events SET processed = 1, last_attempt = ?1 WHERE id = ?2",
                        params![python_time(now), id],
                    )
                    .unwrap();
                let model = models.get_mut(&id).unwrap();
                if !model.processed {
                    last_delivery = Some(now);
                }
                model.processed = true;
            }
            Operation::PythonFailed(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                python
                    .execute(
                        "UPDATE events SET attempts = attempts + 1, last_attempt = ?1,
                            error_message = 'HTTP 502' WHERE id = ?2",
                        params![python_time(now), id],
                    )
                    .unwrap();
                models.get_mut(&id).unwrap().attempts += 1;
            }
            Operation::Advance(seconds) => now += chrono::Duration::seconds(seconds as i64),
        }

        let now_ms = now.timestamp_millis();
        let stats = store.stats(now).unwrap();
        // The kept counts are exact: a full scan of the rows finds the same, for any
        // max_attempts, and so does the oldest due event. What the indexed reads find (the
        // due events oldest first, the newest dead letters, the next due times) is what a
        // scan in id order finds.
        for store in std::iter::once(&mut store).chain(&mut others) {
            let max_attempts = store.policy().max_attempts;
            let due = scanned_due(&python, max_attempts, now_ms);
            for limit in [1, 2, 1000] {
                let read: Vec<i64> = store
                    .claim(
                        Claim {
                            limit,
                            lease: Duration::ZERO,
                        },
                        now,
                    )
                    .unwrap()
                    .into_iter()
                    .map(|event| event.id)
                    .collect();
                let first = &due[..due.len().min(limit as usize)];
                prop_assert_eq!(&read[..], first, "due with max_attempts {}", max_attempts);
                let failed = scanned_failed(&python, max_attempts);
                let newest = &failed[failed.len().saturating_sub(limit as usize)..];
                let listed: Vec<i64> = store
                    .failed(limit)
                    .unwrap()
                    .into_iter()
                    .map(|event| event.id)
                    .collect();
                prop_assert_eq!(
                    &listed[..],
                    newest,
                    "failed with max_attempts {}",
                    max_attempts
                );
            }
            let millis = |time: Option<DateTime<Utc>>| time.map(|time| time.timestamp_millis());
            prop_assert_eq!(
                millis(store.next_due().unwrap()),
                scanned_next_due(&python, max_attempts, None)
            );
            prop_assert_eq!(
                millis(store.next_due_after(now).unwrap()),
                scanned_next_due(&python, max_attempts, Some(now_ms))
            );
            let stats = store.stats(now).unwrap();
            prop_assert_eq!(
                counts(&stats),
                scanned_counts(&python, max_attempts, now_ms),
                "kept counts differ from a scan with max_attempts {}",
                max_attempts
            );
            prop_assert_eq!(
                stats.oldest_due_age_seconds,
                scanned_oldest_due_age(&python, max_attempts, now)
            );
        }
        // Timestamps are kept to the microsecond.
        prop_assert_eq!(stats.last_delivery, last_delivery);
        prop_assert_eq!(stats.total, models.len() as i64, "an event was lost");
        prop_assert_eq!(stats.total, stats.pending + stats.processed + stats.failed);
        prop_assert!(stats.leased + stats.waiting <= stats.pending);
        let count =
            |test: &dyn Fn(&Model) -> bool| models.values().filter(|m| test(m)).count() as i64;
        prop_assert_eq!(stats.processed, count(&|m| m.processed));
        prop_assert_eq!(stats.failed, count(&|m| m.dead(max)));
        prop_assert_eq!(stats.pending, count(&|m| m.pending(max)));
        prop_assert_eq!(stats.leased, count(&|m| m.pending(max) && m.leased(now_ms)));
        let surely_waiting = count(&|m| {
            m.pending(max) && !m.leased(now_ms) && m.due_at.is_some_and(|due| due > now_ms)
        });
        let maybe_waiting = count(&|m| m.pending(max) && !m.leased(now_ms) && m.backoff_unknown);
        prop_assert!(
            (surely_waiting..=surely_waiting + maybe_waiting).contains(&stats.waiting),
            "waiting {} not in {}..={}",
            stats.waiting,
            surely_waiting,
            surely_waiting + maybe_waiting
        );
    }

    // Nothing is stuck: once every lease and the longest backoff have run out, every pending
    // event is handed out again, and only those.
    let later = now + chrono::Duration::days(2);
    let mut claimed: Vec<i64> = store
        .claim(
            Claim {
                limit: 100_000,
                lease: Duration::from_secs(60),
            },
            later,
        )
        .unwrap()
        .into_iter()
        .map(|event| event.id)
        .collect();
    claimed.sort_unstable();
    let pending: Vec<i64> = models
        .iter()
        .filter(|(_, model)| model.pending(max))
        .map(|(id, _)| *id)
        .collect();
    prop_assert_eq!(claimed, pending);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn store_counts_stay_consistent_and_no_event_is_lost_or_double_claimed(
        operations in prop::collection::vec(operation(), 1..60)
    ) {
        check(&operations)?;
    }
}
