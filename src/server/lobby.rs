//! The lobby: long polls parked until an event is due, their wait ends or the server stops.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use tiny_http::Request;

use super::handlers::claim;
use super::reply::{answer, events_reply, send, Reply};
use super::{lock, Shared};
use crate::api::{ErrorResponse, EventsQuery};
use crate::store::Store;

/// How often the lobby looks for commits while a long poll waits: the wake-up delay's bound.
const WATCH_INTERVAL: Duration = Duration::from_millis(5);

/// A long poll parked until an event is due, its wait ends or the server stops.
pub(super) struct Waiting {
    pub(super) request: Request,
    pub(super) query: EventsQuery,
    pub(super) deadline: Instant,
}

pub(super) fn wait_in_lobby(shared: &Shared, mut store: Store) {
    let mut held: Vec<Waiting> = Vec::new();
    let mut version = store.data_version().ok();
    let mut next_due: Option<Instant> = None;
    loop {
        let arrived = {
            let mut lobby = lock(&shared.lobby);
            if lobby.is_empty() {
                if held.is_empty() && shared.finished.load(Ordering::SeqCst) {
                    return;
                }
                // Idle costs nothing: sleep until a long poll arrives (or the server stops).
                let timeout = if held.is_empty() {
                    Some(Duration::from_secs(1))
                } else if shared.stopping.load(Ordering::SeqCst) {
                    None
                } else {
                    Some(WATCH_INTERVAL)
                };
                if let Some(timeout) = timeout {
                    lobby = match shared.lobby_bell.wait_timeout(lobby, timeout) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                }
            }
            std::mem::take(&mut *lobby)
        };
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
            match claimed {
                Ok(events) => {
                    let reply = events_reply(&waiting.query, events);
                    finish(shared, &mut store, waiting.request, reply);
                }
                Err(error) => {
                    let status = error.status();
                    shared.metrics.count_request("events", status);
                    let body = serde_json::to_vec(&ErrorResponse::new(error.message()))
                        .unwrap_or_default();
                    let _ = send(waiting.request, status, "application/json", body, None);
                }
            }
        }
        held = kept;
        next_due = match store.next_due() {
            Ok(Some(due)) => {
                let wait = (due - Utc::now()).to_std().unwrap_or_default();
                // Something due that no waiter took (it asked for fewer attempts): look again
                // at the next tick, not in a busy loop.
                Some(Instant::now() + wait.max(WATCH_INTERVAL))
            }
            _ => None,
        };
    }
}

fn finish(shared: &Shared, store: &mut Store, request: Request, reply: Reply) {
    if let Reply::Json {
        status,
        body,
        claimed,
    } = reply
    {
        shared.metrics.count_request("events", status);
        answer(
            shared,
            store,
            request,
            status,
            "application/json",
            body,
            &claimed,
        );
    }
}
