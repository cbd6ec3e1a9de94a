//! The sources a consumer delivers from, by URL: those given with `--source`, those that
//! announced themselves (`POST /sources`), or the local database. Each entry holds what a
//! person asks about it (`GET /sources`: name, when last announced, how delivery is going)
//! and the bell its worker sleeps on, so an announcement or a stop wakes it at once.
//!
//! Soft state: nothing is written to disk. A restarted consumer starts empty and relearns
//! every announced source from its next heartbeat. An announced source that has neither
//! announced itself nor answered for `forget_after` is dropped (its worker decides, under the
//! registry's lock, so an announcement arriving at that moment keeps it).

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::metrics::Counters;
use crate::api::SourceStatus;
use crate::event::format_timestamp;
use crate::sync::lock;

/// Where a source came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// `--source` (or `DQ_SOURCES`, or the config file): kept for the whole run.
    Static,
    /// `POST /sources`: kept while it announces itself or answers.
    Announced,
    /// The local database (no `--source`, no `--announce-key`).
    Local,
}

/// Wakes one sleeping worker: a `Condvar` with a memory, so a ring that comes while the worker
/// is busy cuts its next sleep short instead of being lost.
#[derive(Default)]
pub(super) struct Bell {
    rung: Mutex<bool>,
    condvar: Condvar,
}

impl Bell {
    pub(super) fn ring(&self) {
        *lock(&self.rung) = true;
        self.condvar.notify_all();
    }

    /// Sleeps until rung or until `timeout` has passed; true if it was rung.
    pub(super) fn wait(&self, timeout: Duration) -> bool {
        let guard = lock(&self.rung);
        let (mut rung, _) = self
            .condvar
            .wait_timeout_while(guard, timeout, |rung| !*rung)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *rung)
    }
}

/// One source.
pub(super) struct Entry {
    /// What the registry is keyed by: an announced URL in its normal form, or as given.
    pub(super) url: String,
    /// For logs, metrics and `GET /sources`: never a secret (a `--source` URL is masked).
    pub(super) label: String,
    pub(super) origin: Origin,
    pub(super) counters: Arc<Counters>,
    pub(super) bell: Bell,
    state: Mutex<State>,
}

/// What changes while the source runs.
struct State {
    name: String,
    /// The latest announced token and how many times one was announced, so the worker can
    /// tell a new one from the one it sends already.
    token: Option<String>,
    token_version: u64,
    registered: Instant,
    announced: Option<(Instant, DateTime<Utc>)>,
    announcements: u64,
    answered: Option<(Instant, DateTime<Utc>)>,
    delivered_at: Option<DateTime<Utc>>,
    error: Option<(DateTime<Utc>, String)>,
    backing_off_until: Option<DateTime<Utc>>,
}

impl Entry {
    pub(super) fn new(url: String, label: String, origin: Origin, name: String) -> Entry {
        Entry {
            counters: Arc::new(Counters {
                source: label.clone(),
                ..Counters::default()
            }),
            url,
            label,
            origin,
            bell: Bell::default(),
            state: Mutex::new(State {
                name,
                token: None,
                token_version: 0,
                registered: Instant::now(),
                announced: None,
                announcements: 0,
                answered: None,
                delivered_at: None,
                error: None,
                backing_off_until: None,
            }),
        }
    }

    /// The announced token, if one came after version `seen` (which is then brought up to
    /// date): `Some(token)` means "send this from now on".
    pub(super) fn token_since(&self, seen: &mut u64) -> Option<Option<String>> {
        let state = lock(&self.state);
        if state.token_version == *seen {
            return None;
        }
        *seen = state.token_version;
        Some(state.token.clone())
    }

    pub(super) fn name(&self) -> String {
        lock(&self.state).name.clone()
    }

    /// The source answered a request.
    pub(super) fn answered(&self) {
        let mut state = lock(&self.state);
        state.answered = Some((Instant::now(), Utc::now()));
        state.backing_off_until = None;
    }

    /// Discord accepted a message from this source.
    pub(super) fn delivered(&self) {
        lock(&self.state).delivered_at = Some(Utc::now());
    }

    /// A request to the source or a delivery failed; `retry_in` is set while backing off.
    pub(super) fn failed(&self, error: &str, retry_in: Option<Duration>) {
        let mut state = lock(&self.state);
        let now = Utc::now();
        state.error = Some((now, error.to_string()));
        if let Some(retry_in) = retry_in {
            state.backing_off_until = chrono::Duration::from_std(retry_in)
                .ok()
                .and_then(|retry_in| now.checked_add_signed(retry_in));
        }
    }

    pub(super) fn status(&self) -> SourceStatus {
        let state = lock(&self.state);
        let counters = &self.counters;
        let load = |counter: &std::sync::atomic::AtomicU64| {
            counter.load(std::sync::atomic::Ordering::Relaxed)
        };
        SourceStatus {
            url: self.label.clone(),
            name: state.name.clone(),
            origin: match self.origin {
                Origin::Static => "static",
                Origin::Announced => "announced",
                Origin::Local => "local",
            }
            .into(),
            state: if state.backing_off_until.is_some() {
                "backing_off"
            } else if state.answered.is_some() {
                "delivering"
            } else {
                "starting"
            }
            .into(),
            announced_at: state.announced.map(|(_, at)| format_timestamp(at)),
            announcements: state.announcements,
            last_answer_at: state.answered.map(|(_, at)| format_timestamp(at)),
            last_delivery_at: state.delivered_at.map(format_timestamp),
            last_error: state.error.as_ref().map(|(_, error)| error.clone()),
            last_error_at: state.error.as_ref().map(|(at, _)| format_timestamp(*at)),
            backing_off_until: state.backing_off_until.map(format_timestamp),
            delivered: load(&counters.delivered),
            failed: load(&counters.failed),
            source_errors: load(&counters.source_errors),
        }
    }
}

/// What an announcement did.
pub(super) enum Registration {
    /// A new source: its worker must be started.
    New(Arc<Entry>),
    /// A known one: name and token updated (true if the token changed), its worker woken.
    Refreshed(Arc<Entry>, bool),
}

/// The registry holds `limit` sources already; a new one is refused.
#[derive(Debug)]
pub(super) struct Full {
    pub(super) limit: usize,
}

pub(super) struct Registry {
    entries: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// Announcements of new sources are refused beyond this many sources.
    limit: usize,
    /// An announced source neither announced nor answering for this long is dropped.
    forget_after: Duration,
}

impl Registry {
    pub(super) fn new(limit: usize, forget_after: Duration) -> Registry {
        Registry {
            entries: Mutex::new(BTreeMap::new()),
            limit,
            forget_after,
        }
    }

    /// Adds a `--source` or the local database (never refused, never forgotten).
    pub(super) fn add(&self, entry: Entry) -> Arc<Entry> {
        let entry = Arc::new(entry);
        lock(&self.entries).insert(entry.url.clone(), Arc::clone(&entry));
        entry
    }

    /// Registers `url` (already normalized) or refreshes it: a new token replaces the old one
    /// and the worker is woken, so a source in backoff is tried again at once.
    pub(super) fn announce(
        &self,
        url: &str,
        token: Option<String>,
        name: String,
    ) -> Result<Registration, Full> {
        let now = (Instant::now(), Utc::now());
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(url) {
            let entry = Arc::clone(entry);
            let token_changed = {
                let mut state = lock(&entry.state);
                state.name = name;
                let changed = state.token != token || state.token_version == 0;
                if changed {
                    state.token = token;
                    state.token_version += 1;
                }
                state.announced = Some(now);
                state.announcements += 1;
                changed
            };
            entry.bell.ring();
            return Ok(Registration::Refreshed(entry, token_changed));
        }
        if entries.len() >= self.limit {
            return Err(Full { limit: self.limit });
        }
        let entry = Entry::new(url.to_string(), url.to_string(), Origin::Announced, name);
        {
            let mut state = lock(&entry.state);
            state.token = token;
            state.token_version = 1;
            state.announced = Some(now);
            state.announcements = 1;
        }
        let entry = Arc::new(entry);
        entries.insert(url.to_string(), Arc::clone(&entry));
        Ok(Registration::New(entry))
    }

    /// Takes `entry` out (its worker could not be started).
    pub(super) fn remove(&self, entry: &Arc<Entry>) {
        let mut entries = lock(&self.entries);
        if entries
            .get(&entry.url)
            .is_some_and(|current| Arc::ptr_eq(current, entry))
        {
            entries.remove(&entry.url);
        }
    }

    /// Drops an announced source that has neither announced itself nor answered for
    /// `forget_after`; true if it was dropped (its worker then ends).
    pub(super) fn forget_if_stale(&self, entry: &Arc<Entry>) -> bool {
        if entry.origin != Origin::Announced {
            return false;
        }
        let mut entries = lock(&self.entries);
        let stale = {
            let state = lock(&entry.state);
            let since = |at: Option<(Instant, DateTime<Utc>)>| {
                at.map_or(state.registered, |(instant, _)| instant)
                    .elapsed()
            };
            since(state.announced) >= self.forget_after
                && since(state.answered) >= self.forget_after
        };
        if stale {
            entries.remove(&entry.url);
        }
        stale
    }

    pub(super) fn forget_after(&self) -> Duration {
        self.forget_after
    }

    pub(super) fn entries(&self) -> Vec<Arc<Entry>> {
        lock(&self.entries).values().cloned().collect()
    }

    /// Wakes every worker (on stop).
    pub(super) fn ring_all(&self) {
        for entry in self.entries() {
            entry.bell.ring();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_for_a_known_url_replaces_the_old_one_and_wakes_its_worker() {
        let registry = Registry::new(10, Duration::from_secs(60));
        let Ok(Registration::New(entry)) =
            registry.announce("https://a", Some("one".into()), "a".into())
        else {
            panic!("not registered");
        };
        let mut seen = 0;
        assert_eq!(entry.token_since(&mut seen), Some(Some("one".into())));
        assert_eq!(entry.token_since(&mut seen), None);
        assert!(!entry.bell.wait(Duration::ZERO));
        let Ok(Registration::Refreshed(same, false)) =
            registry.announce("https://a", Some("one".into()), "b".into())
        else {
            panic!("not refreshed");
        };
        assert!(Arc::ptr_eq(&entry, &same));
        assert_eq!(
            entry.token_since(&mut seen),
            None,
            "the same token is no change"
        );
        assert!(
            entry.bell.wait(Duration::ZERO),
            "an announcement wakes the worker"
        );
        assert!(!entry.bell.wait(Duration::ZERO), "a ring is heard once");
        registry
            .announce("https://a", Some("two".into()), "b".into())
            .ok();
        assert_eq!(entry.token_since(&mut seen), Some(Some("two".into())));
        assert_eq!(entry.name(), "b");
        assert_eq!(entry.status().announcements, 3);
        assert_eq!(registry.entries().len(), 1);
    }

    #[test]
    fn new_sources_beyond_the_limit_are_refused_but_known_ones_still_refresh() {
        let registry = Registry::new(2, Duration::from_secs(60));
        assert!(registry.announce("https://a", None, String::new()).is_ok());
        assert!(registry.announce("https://b", None, String::new()).is_ok());
        assert!(matches!(
            registry.announce("https://c", None, String::new()),
            Err(Full { limit: 2 })
        ));
        assert!(matches!(
            registry.announce("https://a", None, String::new()),
            Ok(Registration::Refreshed(_, false))
        ));
        assert_eq!(registry.entries().len(), 2);
    }

    #[test]
    fn only_announced_sources_silent_and_unanswering_for_the_whole_period_are_forgotten() {
        let registry = Registry::new(10, Duration::from_millis(50));
        let Ok(Registration::New(entry)) = registry.announce("https://a", None, String::new())
        else {
            panic!("not registered");
        };
        assert!(!registry.forget_if_stale(&entry), "just announced");
        std::thread::sleep(Duration::from_millis(60));
        entry.answered();
        assert!(!registry.forget_if_stale(&entry), "it answers");
        std::thread::sleep(Duration::from_millis(60));
        assert!(registry.forget_if_stale(&entry));
        assert!(registry.entries().is_empty());

        let fixed = registry.add(Entry::new(
            "https://s".into(),
            "https://s/…".into(),
            Origin::Static,
            String::new(),
        ));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!registry.forget_if_stale(&fixed), "static sources stay");
    }

    #[test]
    fn a_source_status_never_shows_its_token() {
        let registry = Registry::new(10, Duration::from_secs(60));
        let Ok(Registration::New(entry)) =
            registry.announce("https://a", Some("s3cret-token".into()), "box".into())
        else {
            panic!("not registered");
        };
        entry.failed(
            "https://a/…: claiming events: nothing answers there",
            Some(Duration::from_secs(4)),
        );
        let status = entry.status();
        assert_eq!(status.state, "backing_off");
        assert!(status.backing_off_until.is_some());
        let text = serde_json::to_string(&status).unwrap_or_default();
        assert!(!text.contains("s3cret"), "{text}");
        entry.answered();
        assert_eq!(entry.status().state, "delivering");
    }
}
