//! The lobby: long polls parked until an event is due, their wait ends or the server stops.

use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::Utc;
use tiny_http::Request;

use super::handlers::claim;
use super::reply::{answer, events_reply, send, Reply};
use super::routes::CLAIM_LABEL;
use super::Shared;
use crate::api::{ErrorResponse, EventsQuery};
use crate::store::Store;
use crate::sync::{lock, wait};
use crate::watch::Interest;

/// A long poll parked until an event is due, its wait ends or the server stops.
pub(super) struct Waiting {
    pub(super) request: Request,
    pub(super) query: EventsQuery,
    pub(super) deadline: Instant,
    /// Its route's label in the metrics (a read or a claim).
    pub(super) label: &'static str,
}

/// Sleeps until something may let a parked long poll be answered, then tries them all, oldest
/// first. Nothing here runs on a timer of its own: the lobby wakes when a long poll arrives,
/// when the [`Watch`](crate::watch::Watch) says the database may have changed (then
/// `PRAGMA data_version` tells whether another connection committed), when the next lease
/// or backoff ends, when a wait runs out, and when the server stops. The lobby holds an
/// [`Interest`] in the watch only while it holds long polls: with none parked (a consumer
/// busy draining a backlog), the commits cost no notifications at all.
pub(super) fn wait_in_lobby(shared: &Shared, mut store: Store) {
    let mut held: Vec<Waiting> = Vec::new();
    let mut version = store.data_version().ok();
    let mut interest: Option<Interest> = None;
    let mut seen = 0;
    let mut next_due: Option<Instant> = None;
    loop {
        let arrived = {
            let mut lobby = lock(&shared.lobby);
            loop {
                if !lobby.is_empty() {
                    break;
                }
                if held.is_empty() {
                    if shared.finished.load(Ordering::SeqCst) {
                        return;
                    }
                    // Idle costs nothing: sleep until a long poll arrives or the server stops.
                    lobby = wait(&shared.lobby_bell, lobby, None);
                    continue;
                }
                let changed = interest
                    .as_ref()
                    .is_some_and(|interest| interest.changes() != seen);
                if shared.stopping.load(Ordering::SeqCst) || changed {
                    break;
                }
                let now = Instant::now();
                let wake_at = held
                    .iter()
                    .map(|waiting| waiting.deadline)
                    .chain(next_due)
                    .min();
                match wake_at {
                    Some(at) if at > now => {
                        // Woken or timed out: either way, look at what changed.
                        lobby = wait(&shared.lobby_bell, lobby, Some(at - now));
                        break;
                    }
                    _ => break,
                }
            }
            std::mem::take(&mut *lobby)
        };
        if !arrived.is_empty() && interest.is_none() {
            // Taken before the arrivals' claims below, so that a commit they miss (one not
            // yet visible, or one after) is notified.
            interest = Some(shared.watch.interest());
        }
        if let Some(interest) = &interest {
            seen = interest.changes();
        }
        let stopping = shared.stopping.load(Ordering::SeqCst);
        if held.is_empty() && arrived.is_empty() {
            continue;
        }
        let fresh = !arrived.is_empty();
        held.extend(arrived);
        let now = Instant::now();
        let current = store.data_version().ok();
        let changed = current != version;
        version = current;
        let came_due = next_due.is_some_and(|due| now >= due);
        let expired = held.iter().any(|waiting| now >= waiting.deadline);
        if !(fresh || changed || came_due || expired || stopping) {
            continue;
        }
        // Oldest first, so a long-waiting consumer is served before a newer one.
        let mut kept = Vec::with_capacity(held.len());
        for waiting in held.drain(..) {
            let last_chance = stopping || now >= waiting.deadline;
            let claimed = claim(shared, &mut store, &waiting.query);
            if matches!(&claimed, Ok(events) if events.is_empty() && !last_chance) {
                kept.push(waiting);
                continue;
            }
            shared.metrics.parked.fetch_sub(1, Ordering::Relaxed);
            if waiting.label == CLAIM_LABEL {
                shared.claims_waiting.fetch_sub(1, Ordering::Relaxed);
            }
            match claimed {
                Ok(events) => {
                    let reply = events_reply(&waiting.query, events);
                    finish(shared, &mut store, waiting, reply);
                }
                Err(error) => {
                    let status = error.status();
                    shared.metrics.count_request(waiting.label, status);
                    let body = serde_json::to_vec(&ErrorResponse::new(error.message()))
                        .unwrap_or_default();
                    let _ = send(waiting.request, status, "application/json", body, None);
                }
            }
        }
        held = kept;
        if held.is_empty() {
            interest = None;
        }
        // An event due now that no waiter took (they asked for fewer attempts) changes only
        // with a commit, which the watch reports: only a future lease or backoff end is a
        // time to look again.
        next_due = if held.is_empty() {
            None
        } else {
            match store.next_due_after(Utc::now()) {
                Ok(Some(due)) => {
                    let wait = (due - Utc::now()).to_std().unwrap_or_default();
                    Some(Instant::now() + wait)
                }
                _ => None,
            }
        };
    }
}

fn finish(shared: &Shared, store: &mut Store, waiting: Waiting, reply: Reply) {
    if let Reply::Json {
        status,
        body,
        claimed,
    } = reply
    {
        shared.metrics.count_request(waiting.label, status);
        answer(
            shared,
            store,
            waiting.request,
            status,
            "application/json",
            body,
            &claimed,
        );
    }
}
