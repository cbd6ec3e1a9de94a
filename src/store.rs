//! The SQLite file: pragmas, migrations, every SQL statement, and the queue rules (claiming
//! with leases, backoff, dead-lettering, dedup, retention). The server, the consumer's local
//! mode and the admin commands all go through here, so the rules exist once.
//!
//! The `events` table keeps the original Python system's columns exactly; dq adds nullable
//! columns only. dq's own time columns (`next_attempt_ms`, `lease_until_ms`) hold Unix
//! milliseconds, so comparing them never depends on how a timestamp string was written.

use std::borrow::Borrow;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

use crate::event::{
    format_timestamp, parse_timestamp, payload_from_text, Event, NewEvent, Presentation, ValidEvent,
};

mod due;

use due::{clear_ended, due_ids, earliest_due_sql, lease_due, newest_failed, select_due};

/// Append-only: each entry moves the schema one `user_version` forward. Never edit an entry
/// that has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the original Python system's schema, unchanged (a no-op on its databases).
    "CREATE TABLE IF NOT EXISTS events (
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
    CREATE INDEX IF NOT EXISTS idx_created ON events(created_at);",
    // 2: dq's queue columns: when a failed event is due again, who holds it, dedup.
    "ALTER TABLE events ADD COLUMN next_attempt_ms INTEGER;
    ALTER TABLE events ADD COLUMN lease_until_ms INTEGER;
    ALTER TABLE events ADD COLUMN dedup_key TEXT;
    CREATE INDEX IF NOT EXISTS idx_dedup ON events(dedup_key) WHERE dedup_key IS NOT NULL;",
    // 3: unprocessed events in id order, so a claim reads only those, however long the
    // processed history before them.
    "CREATE INDEX IF NOT EXISTS idx_pending ON events(id) WHERE processed = 0;",
    // 4: how the publisher wants the event shown (title, body, level, color, url) as a JSON
    // object, NULL when none; kept out of `payload`, which the original tools read.
    "ALTER TABLE events ADD COLUMN presentation TEXT;",
    // 5: what `stats` reads instead of scanning every row. Triggers keep the number of events
    // for each (processed, attempts) pair as rows change, whoever writes them (the original
    // Python publisher shares the file), so a count for any max_attempts is a sum of a few
    // rows; the counts start from the rows already there. The keys keep the stored values
    // as they are (no column affinity) and are matched with IS, so a NULL or odd value is
    // counted exactly as a scan would count it. Leased and waiting counts depend on the
    // clock: the two partial indexes hold only unprocessed events with a lease or a backoff
    // set, so counting them reads those events only. The last delivery is the newest
    // processed event's last_attempt at first, then the time of every later one. A new
    // event is nearly always (0, 0), and that row always exists, so counting it is one
    // update: half the cost of the general trigger in a large batch.
    "CREATE TABLE dq_counts (processed, attempts, events INTEGER NOT NULL);
    INSERT INTO dq_counts (processed, attempts, events)
        SELECT processed, attempts, COUNT(*) FROM events GROUP BY processed, attempts;
    INSERT INTO dq_counts (processed, attempts, events) SELECT 0, 0, 0
        WHERE NOT EXISTS (SELECT 1 FROM dq_counts WHERE processed IS 0 AND attempts IS 0);
    CREATE TRIGGER dq_counts_insert_new AFTER INSERT ON events
        WHEN NEW.processed IS 0 AND NEW.attempts IS 0 BEGIN
        UPDATE dq_counts SET events = events + 1 WHERE processed IS 0 AND attempts IS 0;
    END;
    CREATE TRIGGER dq_counts_insert AFTER INSERT ON events
        WHEN NEW.processed IS NOT 0 OR NEW.attempts IS NOT 0 BEGIN
        UPDATE dq_counts SET events = events + 1
            WHERE processed IS NEW.processed AND attempts IS NEW.attempts;
        INSERT INTO dq_counts (processed, attempts, events)
            SELECT NEW.processed, NEW.attempts, 1 WHERE NOT EXISTS (SELECT 1 FROM dq_counts
                WHERE processed IS NEW.processed AND attempts IS NEW.attempts);
    END;
    CREATE TRIGGER dq_counts_delete AFTER DELETE ON events BEGIN
        UPDATE dq_counts SET events = events - 1
            WHERE processed IS OLD.processed AND attempts IS OLD.attempts;
    END;
    CREATE TRIGGER dq_counts_update AFTER UPDATE OF processed, attempts ON events
        WHEN OLD.processed IS NOT NEW.processed OR OLD.attempts IS NOT NEW.attempts BEGIN
        UPDATE dq_counts SET events = events - 1
            WHERE processed IS OLD.processed AND attempts IS OLD.attempts;
        UPDATE dq_counts SET events = events + 1
            WHERE processed IS NEW.processed AND attempts IS NEW.attempts;
        INSERT INTO dq_counts (processed, attempts, events)
            SELECT NEW.processed, NEW.attempts, 1 WHERE NOT EXISTS (SELECT 1 FROM dq_counts
                WHERE processed IS NEW.processed AND attempts IS NEW.attempts);
    END;
    CREATE INDEX idx_leased ON events(lease_until_ms, attempts)
        WHERE processed = 0 AND lease_until_ms IS NOT NULL;
    CREATE INDEX idx_waiting ON events(next_attempt_ms, attempts, lease_until_ms)
        WHERE processed = 0 AND next_attempt_ms IS NOT NULL;
    CREATE TABLE dq_last_delivery (delivered_at);
    INSERT INTO dq_last_delivery (delivered_at)
        VALUES ((SELECT last_attempt FROM events WHERE processed = 1 ORDER BY id DESC LIMIT 1));
    CREATE TRIGGER dq_last_delivery_update AFTER UPDATE OF processed ON events
        WHEN NEW.processed = 1 AND OLD.processed IS NOT 1 BEGIN
        UPDATE dq_last_delivery SET delivered_at =
            COALESCE(NEW.last_attempt, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    END;",
    // 6: the events a claim can take without looking at the clock: unprocessed, with no lease
    // and no backoff, by attempt count and then id (every index ends with the rowid). A claim
    // reads each pending attempt count from its first id, so it never passes the dead letters
    // (their counts are past max_attempts), the leased or the waiting events. Only the
    // unprocessed rows are indexed, so creating it costs one pass over the table.
    "CREATE INDEX idx_ready ON events(attempts)
        WHERE processed = 0 AND next_attempt_ms IS NULL AND lease_until_ms IS NULL;",
];

/// The page cache of one connection, in KiB.
const CACHE_KIB: i64 = 2048;
/// SQLite's memory in one process, all connections together, in bytes: past it, caches
/// reuse their pages instead of growing.
const SOFT_HEAP_LIMIT: i64 = 8 * 1024 * 1024;

/// Default for how long a writer waits for another writer's lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The columns of an [`Event`], in the order [`event_from_row`] reads them.
const EVENT_COLUMNS: &str = "id, user_id, event_type, payload, created_at, attempts, \
     last_attempt, error_message, presentation";

/// Errors a caller branches on (an HTTP status, an exit code); everything else is `anyhow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(i64),
    NotFailed(i64),
}

impl fmt::Display for StoreError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(id) => write!(formatter, "no event with id {id}"),
            StoreError::NotFailed(id) => write!(formatter, "event {id} is not failed"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The queue's rules that callers may tune.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// An event with this many failed attempts is dead-lettered ("failed").
    pub max_attempts: i64,
    /// Wait after the first failed attempt; each later one waits ten times longer.
    pub backoff_base: Duration,
    /// The longest backoff, whatever the attempt count.
    pub backoff_cap: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 3,
            backoff_base: Duration::from_secs(60),
            backoff_cap: Duration::from_secs(3600),
        }
    }
}

impl Policy {
    /// Backoff before attempt `attempts + 1`, spread by ±20% so events that failed together
    /// do not all come due together. `spread` is any number; only its low bits are used.
    pub fn backoff(&self, attempts: i64, spread: u64) -> Duration {
        let exponent = u32::try_from(attempts.clamp(1, 10) - 1).unwrap_or(0);
        let base = self
            .backoff_base
            .saturating_mul(10u32.saturating_pow(exponent))
            .min(self.backoff_cap);
        let permille = 800 + (mix(spread) % 401);
        base.saturating_mul(u32::try_from(permille).unwrap_or(1000)) / 1000
    }
}

/// A cheap integer hash (SplitMix64's finalizer) that turns ids into jitter.
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

/// What a consumer reports about a delivery that did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    /// `false`: the event goes straight to the dead letter (bad token, DMs closed, ...).
    pub retryable: bool,
    /// Wait this long before the event is due again instead of the policy's backoff.
    pub retry_after: Option<Duration>,
}

/// One acknowledgement of a delivery, for [`Store::ack`].
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    Processed,
    Failed(Failure),
}

/// How a mark request ended for an event that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Marked {
    Processed,
    AlreadyProcessed,
    /// Failed, and due again later.
    WillRetry,
    /// Failed, and now in the dead letter.
    DeadLettered,
}

/// What an acknowledgement did to an event that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    pub marked: Marked,
    /// When the event was created, for one this acknowledgement marked processed (the delivery
    /// latency's start); `None` otherwise, or when the stored time cannot be read.
    pub created_at: Option<DateTime<Utc>>,
}

/// What a publish stored for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub id: i64,
    /// An event with the same dedup key was found; `id` is that event's id.
    pub duplicate: bool,
}

/// What a publish stored for each event, in order, kept as runs of consecutive ids: a batch
/// of a million events costs a few bytes here rather than 16 MB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedIds {
    /// (first id, last id, duplicate).
    runs: Vec<(i64, i64, bool)>,
}

impl PublishedIds {
    fn extend(&mut self, ids: std::ops::RangeInclusive<i64>, duplicate: bool) {
        let (first, last) = ids.into_inner();
        match self.runs.last_mut() {
            Some(run) if run.2 == duplicate && run.1.checked_add(1) == Some(first) => {
                run.1 = last;
            }
            _ => self.runs.push((first, last, duplicate)),
        }
    }

    /// One item per event published, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = Published> + '_ {
        self.runs.iter().flat_map(|&(first, last, duplicate)| {
            (first..=last).map(move |id| Published { id, duplicate })
        })
    }
}

/// Counts by state and the delivery figures people alert on, as `dq stats`,
/// `GET /discord/stats` and `GET /discord/metrics` show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stats {
    pub total: i64,
    /// Neither processed nor dead: includes leased and waiting events.
    pub pending: i64,
    pub processed: i64,
    pub failed: i64,
    /// Pending events a consumer holds right now.
    pub leased: i64,
    /// Pending events waiting out a backoff.
    pub waiting: i64,
    /// How long ago the oldest due event (pending, neither leased nor waiting) was created;
    /// 0 when none is due, so "older than ten minutes" stays a plain comparison.
    pub oldest_due_age_seconds: f64,
    /// When the last delivery was recorded (the newest processed event's `last_attempt`, or
    /// the time of the latest mark since), if any ever was.
    #[serde(serialize_with = "serialize_time")]
    pub last_delivery: Option<DateTime<Utc>>,
}

fn serialize_time<S: serde::Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_some(&format_timestamp(*time)),
        None => serializer.serialize_none(),
    }
}

/// What `claim` hands out.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    pub limit: i64,
    /// Zero reads without claiming, as the original API did.
    pub lease: Duration,
}

pub struct Store {
    conn: Connection,
    policy: Policy,
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    pub fn open(path: &Path, policy: Policy, busy_timeout: Duration) -> Result<Store> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating directory {}", parent.display()))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening database {}", path.display()))?;
        Store::prepare(conn, policy, busy_timeout)
            .with_context(|| format!("opening database {}", path.display()))
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory(policy: Policy) -> Result<Store> {
        let conn = Connection::open_in_memory().context("opening an in-memory database")?;
        Store::prepare(conn, policy, DEFAULT_BUSY_TIMEOUT)
    }

    fn prepare(conn: Connection, policy: Policy, busy_timeout: Duration) -> Result<Store> {
        conn.busy_timeout(busy_timeout)
            .context("setting the busy timeout")?;
        let mut store = Store { conn, policy };
        store.migrate(busy_timeout)?;
        // State changes may use NORMAL: the worst a power cut can do to them is a repeated
        // delivery. Publishing switches to FULL for its own commit.
        store
            .conn
            .pragma_update(None, "synchronous", "NORMAL")
            .context("setting synchronous mode")?;
        // Memory stays bounded whatever the table holds: each connection caches at most
        // CACHE_KIB of pages (allocated as used), all the connections of one process together
        // at most SOFT_HEAP_LIMIT of SQLite's memory (serve opens one per worker), and no
        // file is memory-mapped, so reading a large table does not grow the resident set.
        // A large batch is no slower with a small cache: its pages are appended once each,
        // whether they wait in the cache or spill to the log.
        for (pragma, value) in [
            ("cache_size", -CACHE_KIB),
            ("mmap_size", 0),
            ("soft_heap_limit", SOFT_HEAP_LIMIT),
        ] {
            store
                .conn
                .pragma_update(None, pragma, value)
                .with_context(|| format!("setting {pragma}"))?;
        }
        Ok(store)
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Brings the schema up to date. Several processes may open a new file at the same
    /// moment; switching it to WAL can then report "busy" at once, without waiting for the
    /// busy timeout, so the whole step is retried until that timeout has passed.
    fn migrate(&mut self, busy_timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + busy_timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            match self.try_migrate() {
                Err(error) if is_busy(&error) && Instant::now() < deadline => {
                    std::thread::sleep(
                        pause.min(deadline.saturating_duration_since(Instant::now())),
                    );
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                result => return result,
            }
        }
    }

    fn try_migrate(&mut self) -> Result<()> {
        let latest = MIGRATIONS.len() as i64;
        if self.user_version()? >= latest {
            return Ok(());
        }
        // journal_mode cannot change inside a transaction; it is persistent, so this runs
        // once per file (and again harmlessly if two processes race here).
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .context("switching to WAL mode")?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database to migrate it")?;
        // Read again under the lock: another process may have migrated meanwhile.
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .context("reading the schema version")?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            tx.execute_batch(sql)
                .with_context(|| format!("applying migration {}", index + 1))?;
        }
        if current < latest {
            tx.pragma_update(None, "user_version", latest)
                .context("recording the schema version")?;
        }
        tx.commit().context("committing the migration")
    }

    fn user_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .context("reading the schema version")
    }

    /// Changes whenever another connection commits; serve watches it to wake long polls.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .context("reading the data version")
    }

    /// Stores `events` in one durable transaction: all of them, or none. An event whose dedup
    /// key matches a pending event, or one created within `dedup_window`, is not stored again.
    pub fn publish(
        &mut self,
        events: &[NewEvent],
        dedup_window: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Published>> {
        let events = events
            .iter()
            .map(|event| event.clone().into_valid())
            .collect::<Result<Vec<ValidEvent>>>()?;
        self.publish_valid(&events, dedup_window, now)
    }

    /// [`publish`](Self::publish) for events already validated (and their payloads
    /// serialized), as `dq publish` does before it opens the database.
    pub fn publish_valid(
        &mut self,
        events: &[ValidEvent],
        dedup_window: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Published>> {
        let published = self.publish_stream(events.iter().map(Ok), dedup_window, now)?;
        Ok(published.iter().collect())
    }

    /// [`publish_valid`](Self::publish_valid) for events read one at a time, so a batch of
    /// any length holds only a chunk of events and its ids (as runs) in memory. An error from
    /// `events` (a bad line) rolls back everything stored before it.
    pub fn publish_stream<E: Borrow<ValidEvent>>(
        &mut self,
        events: impl Iterator<Item = Result<E>>,
        dedup_window: Duration,
        now: DateTime<Utc>,
    ) -> Result<PublishedIds> {
        self.durably(|store| store.publish_in_transaction(events, dedup_window, now))
    }

    /// Runs `write` with `synchronous=FULL`, so its commit is on disk (the WAL synced) before
    /// this returns, then goes back to `NORMAL` for the state changes that may be repeated.
    fn durably<T>(&mut self, write: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .context("setting synchronous mode")?;
        let result = write(self);
        let restored = self
            .conn
            .pragma_update(None, "synchronous", "NORMAL")
            .context("setting synchronous mode");
        let value = result?;
        restored?;
        Ok(value)
    }

    fn publish_in_transaction<E: Borrow<ValidEvent>>(
        &mut self,
        events: impl Iterator<Item = Result<E>>,
        dedup_window: Duration,
        now: DateTime<Utc>,
    ) -> Result<PublishedIds> {
        let max_attempts = self.policy.max_attempts;
        let created_at = format_timestamp(now);
        let window_start = now - chrono::Duration::from_std(dedup_window).unwrap_or_default();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database to publish")?;
        let mut published = PublishedIds::default();
        // Events without a key wait here and go in as one multi-row statement, which is what
        // makes a large batch fast; a keyed event is stored alone, after the ones before it,
        // so the next lookup sees it.
        let mut run: Vec<E> = Vec::with_capacity(INSERT_CHUNK);
        for event in events {
            let event = event?;
            let Some(key) = event.borrow().dedup_key() else {
                run.push(event);
                if run.len() == INSERT_CHUNK {
                    published.extend(insert_rows(&tx, &run, &created_at)?, false);
                    run.clear();
                }
                continue;
            };
            if !run.is_empty() {
                published.extend(insert_rows(&tx, &run, &created_at)?, false);
                run.clear();
            }
            match find_duplicate(&tx, key, max_attempts, window_start)? {
                Some(id) => published.extend(id..=id, true),
                None => published.extend(
                    insert_rows(&tx, std::slice::from_ref(&event), &created_at)?,
                    false,
                ),
            }
        }
        if !run.is_empty() {
            published.extend(insert_rows(&tx, &run, &created_at)?, false);
        }
        tx.commit().context("committing the events")?;
        Ok(published)
    }

    /// Hands out up to `claim.limit` due events, oldest first, each leased until
    /// `now + claim.lease`; nobody else gets them until they are marked or the lease ends.
    ///
    /// What this reads does not grow with the table (see `store/due.rs`): the leases and
    /// backoffs that have ended are cleared first, each once, which leaves every due event in
    /// idx_ready; there each pending attempt count is read from its first id and the counts
    /// merged in id order, so a claim passes no dead letter, no leased or waiting event and
    /// no processed row, only what it hands out.
    pub fn claim(&mut self, claim: Claim, now: DateTime<Utc>) -> Result<Vec<Event>> {
        let max_attempts = self.policy.max_attempts;
        let now_ms = now.timestamp_millis();
        let mut events = if claim.lease.is_zero() {
            // A read: it changes nothing, so the ended leases and backoffs stay as they are
            // and the due ids include them.
            let snapshot = self
                .conn
                .unchecked_transaction()
                .context("starting a read of due events")?;
            let events = select_due(&snapshot, max_attempts, now_ms, claim.limit)?;
            snapshot.commit().context("ending the read of due events")?;
            events
        } else {
            let until = now_ms.saturating_add(duration_ms(claim.lease));
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("locking the database to claim events")?;
            clear_ended(&tx, now_ms)?;
            let events = lease_due(&tx, max_attempts, now_ms, claim.limit, until)?;
            tx.commit().context("committing the claim")?;
            events
        };
        events.sort_by_key(|event| event.id);
        Ok(events)
    }

    /// When the next pending event comes due (a lease or a backoff ends), if any is pending.
    /// A time at or before `now` means one is due already.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.earliest_due_after(i64::MIN)
    }

    /// The first time after `now` at which a pending event comes due (a lease or a backoff
    /// ends), if any will without another change: what a long poll waits for when nothing
    /// is due now.
    pub fn next_due_after(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        self.earliest_due_after(now.timestamp_millis())
    }

    /// The earliest time after `after` (Unix milliseconds) at which a pending event is due:
    /// the later of its backoff's and its lease's end, 0 with neither. Three index seeks
    /// instead of a pass over the pending events: an event with neither is in idx_ready
    /// (due at 0); one whose backoff ends last is found in idx_waiting in the order of that
    /// end, one whose lease ends last in idx_leased. Each walk passes only the events with
    /// both set the other way round, and dead letters that kept a lease or a backoff (from
    /// a writer that does not clear them), which are few.
    fn earliest_due_after(&self, after: i64) -> Result<Option<DateTime<Utc>>> {
        let millis: Option<i64> = self
            .conn
            .prepare_cached(&earliest_due_sql())?
            .query_row(params![self.policy.max_attempts, after], |row| row.get(0))
            .context("finding the next due event")?;
        Ok(millis.and_then(DateTime::from_timestamp_millis))
    }

    /// Marks an event delivered. Repeating it is harmless. Durable when it returns, like
    /// [`ack`](Self::ack).
    pub fn mark_processed(&mut self, id: i64, now: DateTime<Utc>) -> Result<Marked> {
        self.ack(&[(id, Ack::Processed)], now)?
            .pop()
            .flatten()
            .map(|acked| acked.marked)
            .ok_or_else(|| StoreError::NotFound(id).into())
    }

    /// Records a failed attempt: the event waits a backoff, or goes to the dead letter when it
    /// is out of attempts or the failure is permanent. A late failure report for an event that
    /// was delivered meanwhile changes nothing. Durable when it returns, like [`ack`](Self::ack).
    pub fn mark_failed(
        &mut self,
        id: i64,
        failure: &Failure,
        now: DateTime<Utc>,
    ) -> Result<Marked> {
        self.ack(&[(id, Ack::Failed(failure.clone()))], now)?
            .pop()
            .flatten()
            .map(|acked| acked.marked)
            .ok_or_else(|| StoreError::NotFound(id).into())
    }

    /// Applies a consumer's acknowledgements in one transaction, committed with
    /// `synchronous=FULL`: once this returns, a power cut cannot bring an acknowledged event
    /// back, and a batch costs one sync however many events it holds. Each acknowledgement
    /// is answered on its own, in order: `None` for an id that names no event, which spoils
    /// none of the others. An id given twice is applied twice (the second finds it done).
    /// Consecutive deliveries are marked by one statement (a consumer acknowledges a
    /// message's events together), failures one at a time.
    pub fn ack(&mut self, acks: &[(i64, Ack)], now: DateTime<Utc>) -> Result<Vec<Option<Acked>>> {
        let policy = self.policy;
        self.durably(|store| {
            let tx = store
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("locking the database to acknowledge events")?;
            let mut outcomes = Vec::with_capacity(acks.len());
            let mut rest = acks;
            while let Some(((id, ack), after)) = rest.split_first() {
                if let Ack::Failed(failure) = ack {
                    let marked = mark_failed_in(&tx, &policy, *id, failure, now)?;
                    outcomes.push(marked.map(|marked| Acked {
                        marked,
                        created_at: None,
                    }));
                    rest = after;
                    continue;
                }
                let run = rest
                    .iter()
                    .take_while(|(_, ack)| *ack == Ack::Processed)
                    .count();
                let ids: Vec<i64> = rest[..run].iter().map(|(id, _)| *id).collect();
                outcomes.extend(mark_processed_in(&tx, &ids, now)?);
                rest = &rest[run..];
            }
            tx.commit().context("committing the acknowledgements")?;
            Ok(outcomes)
        })
    }

    /// Gives claimed events back at once (the consumer that held them went away).
    pub fn release(&mut self, ids: &[i64]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database to release leases")?;
        {
            let mut statement = tx.prepare_cached(
                "UPDATE events SET lease_until_ms = NULL WHERE id = ?1 AND processed = 0",
            )?;
            for id in ids {
                statement.execute([id]).context("releasing a lease")?;
            }
        }
        tx.commit().context("committing the release")
    }

    /// Puts dead-lettered events back in the queue with fresh attempts. Every id must name a
    /// failed event, or nothing changes.
    pub fn retry(&mut self, ids: &[i64]) -> Result<usize> {
        let max_attempts = self.policy.max_attempts;
        // `dq retry 5 5` requeues event 5 once.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database to retry events")?;
        for &id in &ids {
            let row: Option<(bool, i64)> = tx
                .query_row(
                    "SELECT processed, attempts FROM events WHERE id = ?1",
                    [id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .context("reading the event")?;
            match row {
                None => return Err(StoreError::NotFound(id).into()),
                Some((false, attempts)) if attempts >= max_attempts => {}
                Some(_) => return Err(StoreError::NotFailed(id).into()),
            }
        }
        let mut changed = 0;
        {
            let mut statement = tx.prepare_cached(
                "UPDATE events SET attempts = 0, next_attempt_ms = NULL, lease_until_ms = NULL
                 WHERE id = ?1",
            )?;
            for id in &ids {
                changed += statement.execute([id]).context("requeueing the event")?;
            }
        }
        tx.commit().context("committing the retry")?;
        Ok(changed)
    }

    /// Puts every dead-lettered event back in the queue.
    pub fn retry_all(&mut self) -> Result<usize> {
        self.conn
            .execute(
                "UPDATE events SET attempts = 0, next_attempt_ms = NULL, lease_until_ms = NULL
                 WHERE processed = 0 AND attempts >= ?1",
                [self.policy.max_attempts],
            )
            .context("requeueing failed events")
    }

    /// Counts by state and the delivery figures, in time that does not grow with the table:
    /// the counts come from `dq_counts`, leased and waiting from partial indexes that hold
    /// only events with a lease or a backoff, the oldest due event from the first due id (as
    /// a claim would find it).
    pub fn stats(&self, now: DateTime<Utc>) -> Result<Stats> {
        let max_attempts = self.policy.max_attempts;
        let now_ms = now.timestamp_millis();
        // One read transaction, so every figure comes from the same snapshot, as the single
        // scan it replaces did.
        let snapshot = self
            .conn
            .unchecked_transaction()
            .context("starting a read of the counts")?;
        let mut stats = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(events), 0),
                    COALESCE(SUM(CASE WHEN processed = 0 AND attempts < ?1 THEN events END), 0),
                    COALESCE(SUM(CASE WHEN processed = 1 THEN events END), 0),
                    COALESCE(SUM(CASE WHEN processed = 0 AND attempts >= ?1 THEN events END), 0)
                 FROM dq_counts",
            )?
            .query_row([max_attempts], |row| {
                Ok(Stats {
                    total: row.get(0)?,
                    pending: row.get(1)?,
                    processed: row.get(2)?,
                    failed: row.get(3)?,
                    ..Stats::default()
                })
            })
            .context("counting events")?;
        stats.leased = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM events INDEXED BY idx_leased
                 WHERE processed = 0 AND lease_until_ms > ?2 AND attempts < ?1",
            )?
            .query_row(params![max_attempts, now_ms], |row| row.get(0))
            .context("counting leased events")?;
        stats.waiting = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM events INDEXED BY idx_waiting
                 WHERE processed = 0 AND next_attempt_ms > ?2 AND attempts < ?1
                    AND (lease_until_ms IS NULL OR lease_until_ms <= ?2)",
            )?
            .query_row(params![max_attempts, now_ms], |row| row.get(0))
            .context("counting waiting events")?;
        if let Some(created) = self.oldest_due(now)? {
            let age = (now - created).num_milliseconds().max(0);
            stats.oldest_due_age_seconds = age as f64 / 1000.0;
        }
        stats.last_delivery = self
            .conn
            .prepare_cached("SELECT delivered_at FROM dq_last_delivery")?
            .query_row([], |row| text(row, 0))
            .optional()
            .context("reading the time of the last delivery")?
            .and_then(|time| parse_timestamp(&time));
        snapshot.commit().context("ending the read of the counts")?;
        Ok(stats)
    }

    /// When the oldest due event was created: the first due id, as a read-only claim finds
    /// it, in the caller's snapshot.
    fn oldest_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let oldest = due_ids(
            &self.conn,
            self.policy.max_attempts,
            now.timestamp_millis(),
            1,
        )?;
        let mut created = self.conn.prepare_cached(&format!(
            "SELECT created_at FROM events WHERE id IN ({})",
            oldest.sql
        ))?;
        let created: Option<String> = created
            .query_row(rusqlite::params_from_iter(&oldest.params), |row| {
                text(row, 0)
            })
            .optional()
            .context("finding the oldest due event")?;
        Ok(created.and_then(|created| parse_timestamp(&created)))
    }

    /// The most recent dead-lettered events, oldest first. Each attempt count at or past
    /// max_attempts is read from its last id in idx_processed (the original's index), and the
    /// counts merged newest first, so this reads about `limit` rows however many dead letters
    /// there are, instead of sorting them all.
    pub fn failed(&self, limit: i64) -> Result<Vec<Event>> {
        let snapshot = self
            .conn
            .unchecked_transaction()
            .context("starting a read of failed events")?;
        let Some(newest) = newest_failed(&snapshot, self.policy.max_attempts, limit)? else {
            return Ok(Vec::new());
        };
        let events = snapshot
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({}) ORDER BY id",
                newest.sql
            ))?
            .query_map(rusqlite::params_from_iter(&newest.params), event_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading failed events")?;
        snapshot
            .commit()
            .context("ending the read of failed events")?;
        Ok(events)
    }

    pub fn get(&self, id: i64) -> Result<Option<Event>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], event_from_row)
            .optional()
            .context("reading the event")
    }

    /// Deletes processed events (and dead-lettered ones with `include_failed`) created before
    /// `before`. Rows whose creation time cannot be read are kept.
    ///
    /// Creation times are compared parsed (the original wrote naive local times), but only
    /// rows that can be old are read: through idx_created, up to a bound 15 hours after
    /// `before` (more than any time zone's offset), so any way of writing an earlier time
    /// sorts before it. They are deleted a chunk at a time, each chunk its own transaction,
    /// so a large sweep neither holds the write lock for long nor gathers every id in memory.
    pub fn cleanup(&mut self, before: DateTime<Utc>, include_failed: bool) -> Result<usize> {
        let bound = (before + chrono::Duration::hours(15))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let mut deleted = 0;
        // Where the last chunk stopped, in idx_created's order.
        let mut after: (rusqlite::types::Value, i64) = (rusqlite::types::Value::Null, 0);
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("locking the database to clean up")?;
            let candidates: Vec<(rusqlite::types::Value, i64, String)> = tx
                .prepare_cached(
                    "SELECT created_at, id FROM events INDEXED BY idx_created
                     WHERE created_at < ?1 AND (?2 IS NULL OR (created_at, id) > (?2, ?3))
                        AND (processed = 1 OR (?4 AND processed = 0 AND attempts >= ?5))
                     ORDER BY created_at, id LIMIT ?6",
                )?
                .query_map(
                    params![
                        bound,
                        after.0,
                        after.1,
                        include_failed,
                        self.policy.max_attempts,
                        CLEANUP_CHUNK
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?, text(row, 0)?)),
                )?
                .collect::<rusqlite::Result<_>>()
                .context("finding old events")?;
            {
                let mut delete = tx.prepare_cached("DELETE FROM events WHERE id = ?1")?;
                for (_, id, created) in &candidates {
                    if parse_timestamp(created).is_some_and(|time| time < before) {
                        delete.execute([id]).context("deleting an old event")?;
                        deleted += 1;
                    }
                }
            }
            tx.commit().context("committing the cleanup")?;
            let full = candidates.len() as i64 == CLEANUP_CHUNK;
            match candidates.into_iter().last() {
                Some((created, id, _)) if full => after = (created, id),
                _ => return Ok(deleted),
            }
        }
    }
}

/// Rows a cleanup reads per transaction.
const CLEANUP_CHUNK: i64 = 1000;

/// Marks the events whose ids are in the JSON array ?1 delivered at ?2. NOT INDEXED: each id
/// is looked up by rowid; left to itself, SQLite reads `processed = 0` through idx_processed
/// and tests every unprocessed event against the list.
const MARK_PROCESSED: &str = "UPDATE events NOT INDEXED SET processed = 1, last_attempt = ?2,
        lease_until_ms = NULL, next_attempt_ms = NULL
    WHERE id IN (SELECT value FROM json_each(?1)) AND processed = 0
    RETURNING id, created_at";

/// Marks events delivered inside `tx`, in one statement, and answers for each id in order:
/// `None` if there is no such event. An id given twice is marked by its first mention; the
/// later ones find it already processed.
fn mark_processed_in(
    tx: &Connection,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<Option<Acked>>> {
    let list = serde_json::to_string(ids).context("listing the events")?;
    let mut marked: Vec<(i64, Option<DateTime<Utc>>)> = tx
        .prepare_cached(MARK_PROCESSED)?
        .query_map(params![list, format_timestamp(now)], |row| {
            Ok((row.get(0)?, parse_timestamp(&text(row, 1)?)))
        })?
        .collect::<rusqlite::Result<_>>()
        .context("marking events processed")?;
    let unmarked: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !marked.iter().any(|(marked, _)| marked == id))
        .collect();
    // Only for ids that were not pending: already processed, or no such event.
    let existing: Vec<i64> = if unmarked.is_empty() {
        Vec::new()
    } else {
        tx.prepare_cached(
            "SELECT id FROM events NOT INDEXED WHERE id IN (SELECT value FROM json_each(?1))",
        )?
        .query_map(
            [serde_json::to_string(&unmarked).context("listing the events")?],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<_>>()
        .context("looking up the events")?
    };
    let mut outcomes = Vec::with_capacity(ids.len());
    let mut marked_now = Vec::with_capacity(marked.len());
    for id in ids {
        if let Some(index) = marked.iter().position(|(marked, _)| marked == id) {
            let (_, created_at) = marked.swap_remove(index);
            marked_now.push(*id);
            outcomes.push(Some(Acked {
                marked: Marked::Processed,
                created_at,
            }));
            continue;
        }
        let exists = existing.contains(id) || marked_now.contains(id);
        outcomes.push(exists.then_some(Acked {
            marked: Marked::AlreadyProcessed,
            created_at: None,
        }));
    }
    Ok(outcomes)
}

/// Records one failed attempt inside `tx` (see [`Store::mark_failed`]); `None` if there is
/// no such event.
fn mark_failed_in(
    tx: &Connection,
    policy: &Policy,
    id: i64,
    failure: &Failure,
    now: DateTime<Utc>,
) -> Result<Option<Marked>> {
    let row: Option<(bool, i64)> = tx
        .prepare_cached("SELECT processed, attempts FROM events WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .context("reading the event")?;
    let Some((processed, attempts)) = row else {
        return Ok(None);
    };
    if processed {
        return Ok(Some(Marked::AlreadyProcessed));
    }
    let max_attempts = policy.max_attempts;
    let attempts = if failure.retryable {
        attempts.saturating_add(1)
    } else {
        attempts.saturating_add(1).max(max_attempts)
    };
    let dead = attempts >= max_attempts;
    let wait = failure
        .retry_after
        .unwrap_or_else(|| policy.backoff(attempts, (id as u64) ^ (now.timestamp_micros() as u64)));
    let next_attempt_ms = (!dead).then(|| now.timestamp_millis() + duration_ms(wait));
    tx.prepare_cached(
        "UPDATE events SET attempts = ?2, last_attempt = ?3, error_message = ?4,
            lease_until_ms = NULL, next_attempt_ms = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        attempts,
        format_timestamp(now),
        failure.message,
        next_attempt_ms
    ])
    .context("recording the failure")?;
    Ok(Some(if dead {
        Marked::DeadLettered
    } else {
        Marked::WillRetry
    }))
}

/// Rows per multi-row insert; each row binds 6 of SQLite's 32,766 parameters.
const INSERT_CHUNK: usize = 100;

/// Inserts `events` in one statement and returns their ids, which follow the same order.
fn insert_rows<E: Borrow<ValidEvent>>(
    tx: &rusqlite::Transaction<'_>,
    events: &[E],
    created_at: &str,
) -> Result<std::ops::RangeInclusive<i64>> {
    let values = vec!["(?, ?, ?, ?, 0, 0, ?, ?)"; events.len()].join(", ");
    let sql = format!(
        "INSERT INTO events (user_id, event_type, payload, created_at, processed, attempts,
            dedup_key, presentation) VALUES {values}"
    );
    let mut insert = tx.prepare_cached(&sql).context("preparing the insert")?;
    let parameters = events
        .iter()
        .flat_map(|event| -> [&dyn rusqlite::ToSql; 6] {
            let event: &ValidEvent = event.borrow();
            [
                event.user_id(),
                event.event_type(),
                event.payload_json(),
                &created_at,
                event.dedup_key(),
                event.presentation_json(),
            ]
        });
    let inserted = insert
        .execute(rusqlite::params_from_iter(parameters))
        .context("inserting the events")?;
    // AUTOINCREMENT gives each row of one statement the next id in the order listed (the
    // writer holds the lock), so the ids are the run ending at the last one. Checked, not
    // assumed: a gap would mean a wrong id printed for a stored event.
    let count = i64::try_from(events.len()).context("counting the events")?;
    let last = tx.last_insert_rowid();
    let first = last - count + 1;
    let found: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM events WHERE id BETWEEN ?1 AND ?2")?
        .query_row([first, last], |row| row.get(0))
        .context("checking the new ids")?;
    if inserted != events.len() || found != count {
        anyhow::bail!("the new events did not get consecutive ids ({first} to {last})");
    }
    Ok(first..=last)
}

/// The id of an event with this dedup key that is still pending or was created at or after
/// `window_start`, if any.
fn find_duplicate(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    max_attempts: i64,
    window_start: DateTime<Utc>,
) -> Result<Option<i64>> {
    let mut recent = tx
        .prepare_cached(
            "SELECT id, created_at, processed, attempts FROM events
             WHERE dedup_key = ?1 ORDER BY id DESC",
        )
        .context("preparing the dedup lookup")?;
    let mut rows = recent.query([key]).context("looking up the dedup key")?;
    while let Some(row) = rows.next().context("looking up the dedup key")? {
        let pending = !row.get::<_, bool>(2)? && row.get::<_, i64>(3)? < max_attempts;
        let recent = parse_timestamp(&text(row, 1)?).is_some_and(|created| created >= window_start);
        if pending || recent {
            return Ok(Some(row.get(0)?));
        }
    }
    Ok(None)
}

/// Whether SQLite said another connection holds a lock it needs.
fn is_busy(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                )
        )
    })
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Reads a column as text whatever its storage class: the original's rows may hold numbers
/// where text is declared.
fn text(row: &Row<'_>, index: usize) -> rusqlite::Result<String> {
    Ok(match row.get_ref(index)? {
        ValueRef::Null => String::new(),
        ValueRef::Integer(value) => value.to_string(),
        ValueRef::Real(value) => value.to_string(),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => String::from_utf8_lossy(bytes).into(),
    })
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    let payload = payload_from_text(&text(row, 3)?);
    let last_attempt = match row.get_ref(6)? {
        ValueRef::Null => None,
        _ => Some(text(row, 6)?),
    };
    let error_message = match row.get_ref(7)? {
        ValueRef::Null => None,
        _ => Some(text(row, 7)?),
    };
    Ok(Event {
        id: row.get(0)?,
        user_id: text(row, 1)?,
        event_type: text(row, 2)?,
        payload,
        created_at: text(row, 4)?,
        attempts: row.get::<_, Option<i64>>(5)?.unwrap_or(0),
        last_attempt,
        error_message,
        presentation: match row.get_ref(8)? {
            ValueRef::Text(bytes) => Presentation::from_json(std::str::from_utf8(bytes).ok()),
            _ => Presentation::default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    pub(super) fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    pub(super) fn store() -> Store {
        Store::open_in_memory(Policy::default()).unwrap()
    }

    fn event(kind: &str) -> NewEvent {
        NewEvent {
            event_type: kind.into(),
            payload: json!({ "n": 1 }).as_object().unwrap().clone(),
            user_id: "42".into(),
            dedup_key: None,
            presentation: Default::default(),
        }
    }

    pub(super) fn publish(store: &mut Store, count: usize, now: DateTime<Utc>) -> Vec<i64> {
        let events = vec![event("custom"); count];
        store
            .publish(&events, Duration::ZERO, now)
            .unwrap()
            .into_iter()
            .map(|published| published.id)
            .collect()
    }

    pub(super) fn lease(seconds: u64, limit: i64) -> Claim {
        Claim {
            limit,
            lease: Duration::from_secs(seconds),
        }
    }

    pub(super) fn retryable(message: &str) -> Failure {
        Failure {
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }

    #[test]
    fn claimed_events_are_not_handed_out_again_until_the_lease_ends() {
        let mut store = store();
        let ids = publish(&mut store, 3, at(0));
        let first = store.claim(lease(60, 2), at(0)).unwrap();
        assert_eq!(first.iter().map(|e| e.id).collect::<Vec<_>>(), ids[..2]);
        let second = store.claim(lease(60, 10), at(1)).unwrap();
        assert_eq!(second.iter().map(|e| e.id).collect::<Vec<_>>(), ids[2..]);
        assert!(store.claim(lease(60, 10), at(59)).unwrap().is_empty());
        let expired = store.claim(lease(60, 10), at(60)).unwrap();
        assert_eq!(expired.iter().map(|e| e.id).collect::<Vec<_>>(), ids[..2]);
    }

    #[test]
    fn a_zero_lease_reads_without_claiming() {
        let mut store = store();
        publish(&mut store, 2, at(0));
        assert_eq!(store.claim(lease(0, 10), at(0)).unwrap().len(), 2);
        assert_eq!(store.claim(lease(0, 10), at(0)).unwrap().len(), 2);
        assert_eq!(store.stats(at(0)).unwrap().leased, 0);
    }

    #[test]
    fn processed_is_idempotent_and_unknown_ids_are_not_found() {
        let mut store = store();
        let ids = publish(&mut store, 1, at(0));
        assert_eq!(
            store.mark_processed(ids[0], at(1)).unwrap(),
            Marked::Processed
        );
        assert_eq!(
            store.mark_processed(ids[0], at(2)).unwrap(),
            Marked::AlreadyProcessed
        );
        let error = store.mark_processed(999, at(2)).unwrap_err();
        assert_eq!(
            error.downcast_ref::<StoreError>(),
            Some(&StoreError::NotFound(999))
        );
        assert_eq!(store.stats(at(3)).unwrap().processed, 1);
    }

    #[test]
    fn failures_back_off_then_dead_letter() {
        let mut store = store();
        let id = publish(&mut store, 1, at(0))[0];
        store.claim(lease(60, 1), at(0)).unwrap();
        assert_eq!(
            store.mark_failed(id, &retryable("500"), at(1)).unwrap(),
            Marked::WillRetry
        );
        // The first backoff is about a minute (±20%).
        assert!(store.claim(lease(60, 1), at(40)).unwrap().is_empty());
        assert_eq!(store.stats(at(40)).unwrap().waiting, 1);
        assert_eq!(store.claim(lease(60, 1), at(80)).unwrap().len(), 1);
        assert_eq!(
            store.mark_failed(id, &retryable("500"), at(81)).unwrap(),
            Marked::WillRetry
        );
        // The second is about ten minutes.
        assert!(store.claim(lease(60, 1), at(81 + 470)).unwrap().is_empty());
        assert_eq!(store.claim(lease(60, 1), at(81 + 730)).unwrap().len(), 1);
        assert_eq!(
            store.mark_failed(id, &retryable("500"), at(900)).unwrap(),
            Marked::DeadLettered
        );
        let stats = store.stats(at(5000)).unwrap();
        assert_eq!((stats.pending, stats.failed), (0, 1));
        let failed = store.failed(10).unwrap();
        assert_eq!(failed[0].attempts, 3);
        assert_eq!(failed[0].error_message.as_deref(), Some("500"));
    }

    #[test]
    fn permanent_failures_dead_letter_at_once_and_retry_after_is_honoured() {
        let mut store = store();
        let ids = publish(&mut store, 2, at(0));
        let permanent = Failure {
            message: "50007: Cannot send messages to this user".into(),
            retryable: false,
            retry_after: None,
        };
        assert_eq!(
            store.mark_failed(ids[0], &permanent, at(1)).unwrap(),
            Marked::DeadLettered
        );
        let later = Failure {
            retry_after: Some(Duration::from_secs(5)),
            ..retryable("rate limited")
        };
        store.mark_failed(ids[1], &later, at(1)).unwrap();
        assert!(store.claim(lease(60, 5), at(5)).unwrap().is_empty());
        assert_eq!(store.claim(lease(60, 5), at(6)).unwrap()[0].id, ids[1]);
    }

    #[test]
    fn a_late_failure_does_not_undo_a_delivery() {
        let mut store = store();
        let id = publish(&mut store, 1, at(0))[0];
        store.mark_processed(id, at(1)).unwrap();
        assert_eq!(
            store.mark_failed(id, &retryable("timeout"), at(2)).unwrap(),
            Marked::AlreadyProcessed
        );
        assert_eq!(store.stats(at(3)).unwrap().processed, 1);
    }

    #[test]
    fn an_ack_batch_answers_each_id_in_order_and_unknown_ids_change_nothing() {
        let mut store = store();
        let ids = publish(&mut store, 3, at(0));
        store.claim(lease(60, 3), at(0)).unwrap();
        let permanent = Failure {
            retryable: false,
            ..retryable("gone")
        };
        let outcomes = store
            .ack(
                &[
                    (ids[0], Ack::Processed),
                    (999, Ack::Processed),
                    (ids[1], Ack::Failed(retryable("503"))),
                    (ids[2], Ack::Failed(permanent)),
                    (ids[0], Ack::Failed(retryable("late"))),
                ],
                at(1),
            )
            .unwrap();
        let marked: Vec<Option<Marked>> = outcomes
            .iter()
            .map(|acked| acked.map(|acked| acked.marked))
            .collect();
        assert_eq!(
            marked,
            [
                Some(Marked::Processed),
                None,
                Some(Marked::WillRetry),
                Some(Marked::DeadLettered),
                Some(Marked::AlreadyProcessed),
            ]
        );
        // The delivery latency's start, for the event marked processed only.
        assert_eq!(outcomes[0].and_then(|acked| acked.created_at), Some(at(0)));
        assert_eq!(outcomes[4].and_then(|acked| acked.created_at), None);
        let stats = store.stats(at(1)).unwrap();
        assert_eq!(
            (stats.processed, stats.waiting, stats.failed, stats.leased),
            (1, 1, 1, 0)
        );
        assert!(store.ack(&[], at(2)).unwrap().is_empty());
    }

    #[test]
    fn deliveries_acknowledged_together_are_answered_in_order_once_each() {
        let mut store = store();
        let ids = publish(&mut store, 3, at(0));
        store.claim(lease(60, 3), at(0)).unwrap();
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let outcomes = store
            .ack(
                &[
                    (a, Ack::Processed),
                    (a, Ack::Processed),
                    (999, Ack::Processed),
                    (b, Ack::Processed),
                    (c, Ack::Failed(retryable("503"))),
                    (c, Ack::Processed),
                    (a, Ack::Processed),
                ],
                at(1),
            )
            .unwrap();
        let marked: Vec<Option<(Marked, Option<DateTime<Utc>>)>> = outcomes
            .iter()
            .map(|acked| acked.map(|acked| (acked.marked, acked.created_at)))
            .collect();
        let done = Some((Marked::AlreadyProcessed, None));
        assert_eq!(
            marked,
            [
                Some((Marked::Processed, Some(at(0)))),
                done,
                None,
                Some((Marked::Processed, Some(at(0)))),
                Some((Marked::WillRetry, None)),
                Some((Marked::Processed, Some(at(0)))),
                done,
            ]
        );
        assert_eq!(store.stats(at(1)).unwrap().processed, 3);
        assert_eq!(store.get(c).unwrap().unwrap().attempts, 1);
    }

    #[test]
    fn marking_deliveries_looks_each_id_up_by_rowid() {
        let store = store();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {MARK_PROCESSED}"))
            .unwrap()
            .query_map(params!["[1, 2]", "now"], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("INTEGER PRIMARY KEY")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|step| step.contains("idx_")), "{plan:?}");
    }

    #[test]
    fn released_events_come_back_at_once() {
        let mut store = store();
        let ids = publish(&mut store, 2, at(0));
        store.claim(lease(60, 2), at(0)).unwrap();
        store.release(&ids).unwrap();
        assert_eq!(store.claim(lease(60, 5), at(1)).unwrap().len(), 2);
    }

    #[test]
    fn retry_requeues_only_failed_events_all_or_nothing() {
        let mut store = store();
        let ids = publish(&mut store, 2, at(0));
        let permanent = Failure {
            retryable: false,
            ..retryable("gone")
        };
        store.mark_failed(ids[0], &permanent, at(1)).unwrap();
        let error = store.retry(&[ids[0], ids[1]]).unwrap_err();
        assert_eq!(
            error.downcast_ref::<StoreError>(),
            Some(&StoreError::NotFailed(ids[1]))
        );
        assert_eq!(store.stats(at(2)).unwrap().failed, 1);
        assert_eq!(store.retry(&[ids[0]]).unwrap(), 1);
        assert_eq!(store.stats(at(2)).unwrap().failed, 0);
        store.mark_failed(ids[1], &permanent, at(3)).unwrap();
        assert_eq!(store.retry_all().unwrap(), 1);
        assert_eq!(store.stats(at(4)).unwrap().pending, 2);
    }

    #[test]
    fn dedup_returns_the_pending_or_recent_event() {
        let mut store = store();
        let keyed = NewEvent {
            dedup_key: Some("nightly".into()),
            ..event("backup_success")
        };
        let window = Duration::from_secs(3600);
        let first = store
            .publish(std::slice::from_ref(&keyed), window, at(0))
            .unwrap()[0];
        assert!(!first.duplicate);
        let again = store
            .publish(std::slice::from_ref(&keyed), window, at(10))
            .unwrap()[0];
        assert_eq!(
            again,
            Published {
                id: first.id,
                duplicate: true
            }
        );
        store.mark_processed(first.id, at(20)).unwrap();
        // Processed but within the window: still a duplicate.
        assert!(
            store
                .publish(std::slice::from_ref(&keyed), window, at(30))
                .unwrap()[0]
                .duplicate
        );
        // Processed and outside the window: a new event.
        let later = store.publish(&[keyed], window, at(4000)).unwrap()[0];
        assert!(!later.duplicate);
        assert_ne!(later.id, first.id);
    }

    #[test]
    fn a_batch_keeps_its_order_across_insert_chunks_and_dedups_within_itself() {
        let mut store = store();
        let keyed = |kind: &str, key: &str| NewEvent {
            dedup_key: Some(key.into()),
            ..event(kind)
        };
        let mut events = vec![
            event("a"),
            keyed("b", "k"),
            event("c"),
            keyed("d", "k"),
            keyed("e", "j"),
        ];
        events.extend((0..250).map(|n| event(&format!("n{n}"))));
        let published = store.publish(&events, Duration::ZERO, at(0)).unwrap();
        let ids: Vec<i64> = published.iter().map(|item| item.id).collect();
        assert_eq!(ids[..5], [1, 2, 3, 2, 4]);
        assert!(published[3].duplicate);
        assert_eq!(ids[5..], (5..=254).collect::<Vec<i64>>());
        for (event, item) in events.iter().zip(&published) {
            if !item.duplicate {
                assert_eq!(
                    store.get(item.id).unwrap().unwrap().event_type,
                    event.event_type
                );
            }
        }
        assert_eq!(store.stats(at(0)).unwrap().total, 254);
    }

    #[test]
    fn a_batch_with_an_invalid_event_stores_nothing() {
        let mut store = store();
        let mut bad = event("custom");
        bad.event_type = "Not Valid".into();
        assert!(store
            .publish(&[event("custom"), bad], Duration::ZERO, at(0))
            .is_err());
        assert_eq!(store.stats(at(0)).unwrap().total, 0);
    }

    #[test]
    fn cleanup_deletes_old_processed_and_optionally_failed() {
        let mut store = store();
        let ids = publish(&mut store, 3, at(0));
        publish(&mut store, 1, at(10 * 86400));
        store.mark_processed(ids[0], at(1)).unwrap();
        let permanent = Failure {
            retryable: false,
            ..retryable("gone")
        };
        store.mark_failed(ids[1], &permanent, at(1)).unwrap();
        let before = at(7 * 86400);
        assert_eq!(store.cleanup(before, false).unwrap(), 1);
        assert_eq!(store.cleanup(before, true).unwrap(), 1);
        let stats = store.stats(at(10 * 86400)).unwrap();
        assert_eq!((stats.total, stats.pending), (2, 2));
    }

    #[test]
    fn cleanup_works_through_many_chunks_and_any_way_of_writing_a_time() {
        let mut store = store();
        // 2,500 old processed events with a pending one after each hundred (kept), across
        // several chunks of the sweep.
        let ids = publish(&mut store, 2_525, at(-86_400));
        for (index, id) in ids.iter().enumerate() {
            if index % 101 != 100 {
                store.mark_processed(*id, at(0)).unwrap();
            }
        }
        // Times just before and after the cut, written with the largest offsets: the first
        // sorts after the cut as text, but is older.
        let late = publish(&mut store, 4, at(0));
        for (id, created) in [
            (late[0], "2026-11-28T01:59:59+14:00"),
            (late[1], "2026-11-27T00:00:01-12:00"),
            (late[2], "2026-11-27T12:00:01Z"),
            (late[3], "yesterday"),
        ] {
            store
                .conn
                .execute(
                    "UPDATE events SET created_at = ?2, processed = 1 WHERE id = ?1",
                    params![id, created],
                )
                .unwrap();
        }
        assert_eq!(store.cleanup(at(0), false).unwrap(), 2_500 + 1);
        let stats = store.stats(at(0)).unwrap();
        assert_eq!((stats.pending, stats.processed), (25, 3));
        assert!(store.get(late[0]).unwrap().is_none());
        assert!(store.get(late[1]).unwrap().is_some());
        assert_eq!(store.cleanup(at(0), false).unwrap(), 0);
    }

    #[test]
    fn next_due_reports_the_earliest_lease_or_backoff_end() {
        let mut store = store();
        assert_eq!(store.next_due().unwrap(), None);
        publish(&mut store, 1, at(0));
        store.claim(lease(30, 1), at(0)).unwrap();
        assert_eq!(store.next_due().unwrap(), Some(at(30)));
    }

    #[test]
    fn backoff_grows_tenfold_with_jitter_and_a_cap() {
        let policy = Policy::default();
        for spread in 0..50 {
            let first = policy.backoff(1, spread).as_secs_f64();
            assert!((48.0..=72.0).contains(&first), "{first}");
            let second = policy.backoff(2, spread).as_secs_f64();
            assert!((480.0..=720.0).contains(&second), "{second}");
            assert!(policy.backoff(9, spread) <= Duration::from_secs(4320));
        }
    }
}
