//! The delivery worker: one per source, on a thread of its own. It claims due events from its
//! `Source` (a dq server or Flask API through `client`, or the local database through the
//! store), hands each message to the shared Discord `Sink` and records every outcome on the
//! source the events came from, keeping marks it could not record for later.
//!
//! A source that fails is retried with a growing backoff, quietly: one log line when it starts
//! failing (or fails differently), one when it answers again. The worker sleeps on its
//! registry entry's bell, so an announcement of its source cuts a backoff short, and an
//! announced source silent for too long is forgotten by its own worker.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;

use super::metrics::Metrics;
use super::registry::{Entry, Registry};
use super::Options;
use crate::api::{AckEvent, AckStatus, EventsQuery, FailedBody};
use crate::client::HttpSource;
use crate::discord::{self, Outcome, RetryPlan, Sink};
use crate::event::Event;
use crate::render;
use crate::store::{Ack, Claim, Failure, Store};
use crate::watch::Watch;

/// Events claimed at a time: one message's worth, so leases stay short and a failure costs
/// few attempts.
const CLAIM_LIMIT: i64 = 10;
/// With `--dry-run`, sources are only read (lease 0), so read as many as the API allows.
const DRY_RUN_LIMIT: i64 = EventsQuery::LIMIT_MAX;

/// Where events come from and where their outcome is recorded.
pub(super) trait Source: Send {
    /// For logs and metrics: never a secret.
    fn name(&self) -> String;
    /// Identifies the source in message nonces (may be secret; never logged).
    fn key(&self) -> String;
    /// Due events, waiting up to `wait` for one. `lease` zero only reads.
    fn claim(&mut self, limit: i64, lease: Duration, wait: Duration) -> Result<Vec<Event>>;
    /// Records outcomes in order, all of a message's at once where the source can; returns
    /// how many were recorded and the error that stopped it, if any (the rest are kept).
    fn ack(&mut self, outcomes: &[AckEvent]) -> (usize, Option<anyhow::Error>);
}

/// A dq server or Flask API. Before each request it takes up a token announced since the last
/// one, so a new token for a known URL is used at once.
pub(super) struct Http {
    source: HttpSource,
    entry: Arc<Entry>,
    token_version: u64,
    /// The log said once that this source has only the older routes.
    said_older: bool,
}

impl Http {
    pub(super) fn new(source: HttpSource, entry: Arc<Entry>) -> Http {
        Http {
            source,
            entry,
            token_version: 0,
            said_older: false,
        }
    }

    fn refresh_token(&mut self) {
        if let Some(token) = self.entry.token_since(&mut self.token_version) {
            self.source.set_token(token);
        }
    }

    fn note_routes(&mut self) {
        if self.source.uses_older_routes() && !self.said_older {
            self.said_older = true;
            eprintln!(
                "dq: {}: no POST /discord/events/claim or /ack there (a dq serve from before \
                 them, or the original API): claiming with GET /discord/events?lease= and \
                 marking events one at a time",
                self.entry.label
            );
        }
    }
}

impl Source for Http {
    fn name(&self) -> String {
        self.entry.label.clone()
    }

    fn key(&self) -> String {
        self.source.url().to_string()
    }

    fn claim(&mut self, limit: i64, lease: Duration, wait: Duration) -> Result<Vec<Event>> {
        self.refresh_token();
        let events = self.source.claim(&EventsQuery {
            limit,
            max_attempts: None,
            lease: lease.as_secs(),
            wait: wait.as_secs(),
        });
        self.note_routes();
        events
    }

    fn ack(&mut self, outcomes: &[AckEvent]) -> (usize, Option<anyhow::Error>) {
        self.refresh_token();
        let acked = self.source.ack(outcomes);
        self.note_routes();
        acked
    }
}

/// The local database, with the same rules the server applies. Waiting for events costs
/// nothing: it sleeps on the database's `Watch` (a publish from any process wakes it) until
/// the next event comes due or the wait ends.
pub(super) struct Local {
    pub(super) store: Store,
    pub(super) name: String,
    pub(super) watch: Watch,
}

impl Source for Local {
    fn name(&self) -> String {
        "local".into()
    }

    fn key(&self) -> String {
        self.name.clone()
    }

    fn claim(&mut self, limit: i64, lease: Duration, wait: Duration) -> Result<Vec<Event>> {
        let deadline = Instant::now() + wait;
        loop {
            // Taken before looking, so a commit after the look still ends the sleep below.
            let interest = self.watch.interest();
            let seen = interest.changes();
            let now = Utc::now();
            // `next_due` only reads, so waiting costs no write lock.
            let next = self.store.next_due()?;
            if next.is_some_and(|due| due <= now) {
                let events = self.store.claim(Claim { limit, lease }, now)?;
                if !events.is_empty() || lease.is_zero() {
                    return Ok(events);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            let until_due = next
                .and_then(|due| (due - now).to_std().ok())
                .filter(|until| !until.is_zero())
                .unwrap_or(left);
            interest.wait(seen, left.min(until_due));
        }
    }

    /// One transaction for all of them, as `dq serve` applies a batch acknowledgement.
    fn ack(&mut self, outcomes: &[AckEvent]) -> (usize, Option<anyhow::Error>) {
        let acks: Vec<(i64, Ack)> = outcomes
            .iter()
            .map(|outcome| {
                let ack = match outcome.status {
                    AckStatus::Processed => Ack::Processed,
                    AckStatus::Failed => Ack::Failed(Failure {
                        message: outcome.error_message.clone().unwrap_or_default(),
                        retryable: outcome.retryable.unwrap_or(true),
                        retry_after: outcome
                            .retry_after
                            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                            .map(Duration::from_secs_f64),
                    }),
                };
                (outcome.id, ack)
            })
            .collect();
        match self.store.ack(&acks, Utc::now()) {
            Ok(_) => (outcomes.len(), None),
            Err(error) => (0, Some(error)),
        }
    }
}

pub(super) struct Worker {
    pub(super) source: Box<dyn Source>,
    pub(super) sink: Option<Arc<Mutex<Sink>>>,
    pub(super) options: Options,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) in_flight: Arc<AtomicUsize>,
    /// Its entry in the registry: counters, status, and the bell it sleeps on.
    pub(super) entry: Arc<Entry>,
    pub(super) registry: Arc<Registry>,
    pub(super) metrics: Arc<Metrics>,
    /// Outcomes to record before anything else: the events are delivered (or failed) already,
    /// but the source has not taken that yet (it went away after the send).
    pub(super) unmarked: Vec<AckEvent>,
    /// With --dry-run, events already printed.
    pub(super) seen: HashSet<i64>,
    /// Since when and how often the source has failed, until it answers again: the log gets
    /// one line when it starts failing and one when it answers, not one per try.
    pub(super) failing: Option<(Instant, u64)>,
}

impl Worker {
    pub(super) fn run(mut self) {
        let name = self.source.name();
        let mut backoff = Duration::ZERO;
        let mut forgotten = false;
        loop {
            if self.stopping() {
                break;
            }
            if let Some(until) = self.sink_paused() {
                if self.options.once {
                    eprintln!("dq: {name}: discord keeps failing; stopping this --once run");
                    self.entry
                        .counters
                        .source_errors
                        .fetch_add(1, Ordering::Relaxed);
                    break;
                }
                self.sleep(until.saturating_duration_since(Instant::now()));
                continue;
            }
            if !self.flush_marks() {
                backoff = grow(backoff);
                if self.options.once && backoff > Duration::from_secs(8) {
                    break;
                }
                if self.forget_if_stale() {
                    forgotten = true;
                    break;
                }
                self.sleep(backoff);
                continue;
            }
            let (limit, lease) = if self.options.dry_run {
                (DRY_RUN_LIMIT, Duration::ZERO)
            } else {
                (CLAIM_LIMIT, self.options.lease)
            };
            let wait = if self.options.once {
                Duration::ZERO
            } else {
                self.options.wait
            };
            let asked = Instant::now();
            let events = match self.source.claim(limit, lease, wait) {
                Ok(events) => {
                    let created = events.iter().map(Event::created_utc);
                    self.entry.counters.figures.claimed(created);
                    self.answered();
                    backoff = Duration::ZERO;
                    events
                }
                Err(error) => {
                    self.entry
                        .counters
                        .source_errors
                        .fetch_add(1, Ordering::Relaxed);
                    backoff = grow(backoff);
                    let text = one_line(&error);
                    if self.options.once {
                        eprintln!("dq: {text}");
                        break;
                    }
                    self.entry.failed(&text, Some(backoff));
                    if self.start_failing() {
                        eprintln!(
                            "dq: {text}; retrying in {}s, then less and less often (at most \
                             every {}s), quietly until it answers",
                            backoff.as_secs(),
                            BACKOFF_MAX.as_secs()
                        );
                    }
                    if self.forget_if_stale() {
                        forgotten = true;
                        break;
                    }
                    self.sleep(backoff);
                    continue;
                }
            };
            let events: Vec<Event> = if self.options.dry_run {
                events
                    .into_iter()
                    .filter(|event| self.seen.insert(event.id))
                    .collect()
            } else {
                events
            };
            if events.is_empty() {
                if self.options.once {
                    break;
                }
                // A source that answers at once with nothing does not long-poll (the original
                // API): fall back to polling it.
                if wait.is_zero() || asked.elapsed() < wait / 2 {
                    self.sleep(self.options.poll);
                }
                continue;
            }
            if self.options.dry_run {
                self.print(events);
                if self.options.once {
                    break;
                }
                continue;
            }
            self.deliver(events, asked);
            self.entry.counters.figures.handled();
        }
        // Give marks a last chance before leaving: each one saves a repeated delivery.
        for _ in 0..3 {
            if self.flush_marks() {
                break;
            }
            thread::sleep(Duration::from_millis(500));
        }
        self.entry
            .counters
            .unmarked
            .fetch_add(self.unmarked.len() as u64, Ordering::Relaxed);
        if forgotten {
            self.metrics.retire(&self.entry.counters);
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Counts a failed try; true for the first of a series (the one to log).
    fn start_failing(&mut self) -> bool {
        match &mut self.failing {
            Some((_, tries)) => {
                *tries += 1;
                false
            }
            None => {
                self.failing = Some((Instant::now(), 1));
                true
            }
        }
    }

    /// The source answered: say so once if it had been failing.
    fn answered(&mut self) {
        self.entry.answered();
        if let Some((since, tries)) = self.failing.take() {
            eprintln!(
                "dq: {}: source is answering again (after {tries} failed tries in {}s)",
                self.source.name(),
                since.elapsed().as_secs()
            );
        }
    }

    /// Drops an announced source that has neither announced itself nor answered for a
    /// while (see `Registry::forget_if_stale`), saying so once.
    fn forget_if_stale(&self) -> bool {
        if !self.registry.forget_if_stale(&self.entry) {
            return false;
        }
        let name = self.entry.name();
        eprintln!(
            "dq: {}{}: forgotten: not announced and not answering for {}s (it is registered \
             again when it next announces itself)",
            self.entry.label,
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            },
            self.registry.forget_after().as_secs()
        );
        true
    }

    fn sink_paused(&self) -> Option<Instant> {
        let sink = self.sink.as_ref()?;
        let sink = sink.lock().ok()?;
        sink.paused_until()
    }

    /// Sleeps for `duration`, or less if the entry's bell rings (an announcement of this
    /// source, or a stop).
    fn sleep(&self, duration: Duration) {
        let end = Instant::now() + duration;
        while !self.stopping() {
            let now = Instant::now();
            if now >= end || self.entry.bell.wait(end - now) {
                return;
            }
        }
    }

    fn print(&self, events: Vec<Event>) {
        let mut out = String::new();
        for group in render::plan(events, self.options.by_user, &self.options.render) {
            let body = render::render(&group, &self.options.render);
            out.push_str(&body.to_string());
            out.push('\n');
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush());
    }

    fn deliver(&mut self, events: Vec<Event>, claimed_at: Instant) {
        let Some(sink) = self.sink.clone() else {
            return;
        };
        let name = self.source.name();
        let key = self.source.key();
        // Retries in place stop in time for the marks to land within the lease, and nothing
        // is sent once the lease is nearly over (another consumer may take the events then).
        let deadline = claimed_at + self.options.lease / 2;
        let lease_end = claimed_at + self.options.lease.mul_f64(0.9);
        for group in render::plan(events, self.options.by_user, &self.options.render) {
            // Count in flight *before* looking at `stop`: see `run`.
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            if self.stopping() {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let ids: Vec<i64> = group.iter().map(|event| event.id).collect();
            let body = render::render(&group, &self.options.render);
            let nonce = render::nonce(&key, &ids);
            let user_id = group
                .first()
                .map(|event| event.user_id.clone())
                .unwrap_or_default();
            let started = Instant::now();
            let delivery = match sink.lock() {
                Ok(mut sink) => {
                    let plan = RetryPlan::standard(deadline, lease_end);
                    sink.deliver(&body, &user_id, &nonce, &plan)
                }
                Err(_) => {
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            };
            let took = started.elapsed();
            let counters = &self.entry.counters;
            counters
                .retried
                .fetch_add(u64::from(delivery.retries), Ordering::Relaxed);
            counters
                .rate_limited
                .fetch_add(u64::from(delivery.rate_limited), Ordering::Relaxed);
            let id_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            if delivery.interrupted {
                eprintln!(
                    "dq: events {id_list} from {name} were not sent (stopping, or their lease \
                     would end first); they come back when their lease ends"
                );
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let marks: Vec<AckEvent> = match &delivery.outcome {
                Outcome::Delivered { .. } => {
                    let now = Utc::now();
                    for event in &group {
                        counters.figures.delivered(event.created_utc(), now);
                    }
                    counters
                        .delivered
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    self.entry.delivered();
                    eprintln!(
                        "dq: delivered events {id_list} from {name} in {} ms{}",
                        took.as_millis(),
                        retry_note(&delivery)
                    );
                    ids.iter().map(|id| AckEvent::processed(*id)).collect()
                }
                outcome => {
                    let permanent = matches!(outcome, Outcome::Permanent { .. });
                    counters
                        .failed
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    let reason = outcome.describe();
                    self.entry.failed(&format!("discord: {reason}"), None);
                    eprintln!(
                        "dq: failed events {id_list} from {name} ({}) in {} ms{}: {reason}",
                        if permanent { "permanent" } else { "will retry" },
                        took.as_millis(),
                        retry_note(&delivery)
                    );
                    ids.iter()
                        .map(|id| {
                            AckEvent::failed(
                                *id,
                                FailedBody {
                                    error_message: reason.clone(),
                                    retryable: Some(!permanent),
                                    retry_after: None,
                                },
                            )
                        })
                        .collect()
                }
            };
            self.unmarked.extend(marks);
            self.flush_marks();
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Records the pending outcomes in order (a message's in one request); false when the
    /// source did not take them all (the rest are kept for later).
    fn flush_marks(&mut self) -> bool {
        if self.unmarked.is_empty() {
            return true;
        }
        let (recorded, error) = self.source.ack(&self.unmarked);
        self.unmarked.drain(..recorded.min(self.unmarked.len()));
        let Some(error) = error else {
            self.answered();
            return true;
        };
        let text = one_line(&error);
        self.entry.failed(&text, None);
        if self.start_failing() {
            eprintln!(
                "dq: {}: could not record the outcome of {} event(s) yet, kept for later: {text}",
                self.source.name(),
                self.unmarked.len(),
            );
        }
        false
    }
}

fn retry_note(delivery: &discord::Delivery) -> String {
    let mut note = String::new();
    if delivery.retries > 0 {
        note.push_str(&format!(" after {} retries", delivery.retries));
    }
    if delivery.rate_limited > 0 {
        note.push_str(&format!(" ({} rate limited)", delivery.rate_limited));
    }
    note
}

/// The longest wait between two tries of a failing source.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// 1, 2, 4, ... 60 seconds.
fn grow(backoff: Duration) -> Duration {
    (backoff * 2).clamp(Duration::from_secs(1), BACKOFF_MAX)
}

/// The error and its causes on one line, without control characters (a source's error text
/// is the source's to choose; it must not rewrite the consumer's log).
fn one_line(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
