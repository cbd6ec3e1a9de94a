//! Handling one request: authorize, route, call the store, reply.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use tiny_http::{Method, Request};

use super::auth::authorize;
use super::body::{parse_acks, parse_failure, read_body, require_empty_body};
use super::errors::ApiError;
use super::lobby::Waiting;
use super::query::Query;
use super::read_cache::ReadCache;
use super::reply::{answer, events_reply, mark_reply, send, Reply};
use super::routes::{parse_route, Action, Route, CLAIM_LABEL};
use super::{lock, Shared};
use crate::api::{
    self, AckOutcome, AckResponse, AckResult, ErrorResponse, EventsQuery, EventsResponse,
    HealthResponse, PublishResponse, MAX_BODY_BYTES,
};
use crate::event::{format_timestamp, Event, NewEvent};
use crate::store::{Ack, Claim, Marked, Store, StoreError};

pub(super) fn handle(
    shared: &Shared,
    store: &mut Store,
    cache: &mut Option<ReadCache>,
    mut request: Request,
) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    // Everything but health needs the token, even to learn which paths exist.
    let route = if path == api::HEALTH {
        Ok(Route::Health)
    } else if request.over_capacity() {
        // Accepted beyond --max-connections: only a health check is served.
        Err(ApiError::TooManyConnections(shared.config.max_connections))
    } else {
        authorize(shared, &request).and_then(|()| parse_route(&path))
    };
    let label = Route::label(route.as_ref().ok().copied());
    let reply = match route {
        Ok(route) => respond_to(shared, store, cache, &mut request, route),
        Err(error) => Err(error),
    };
    match reply {
        Ok(Reply::Park(query)) => {
            shared.metrics.parked.fetch_add(1, Ordering::Relaxed);
            if label == CLAIM_LABEL {
                shared.claims_waiting.fetch_add(1, Ordering::Relaxed);
            }
            let deadline = Instant::now() + Duration::from_secs(query.wait);
            let mut lobby = lock(&shared.lobby);
            lobby.push(Waiting {
                request,
                query,
                deadline,
                label,
            });
            shared.lobby_bell.notify_all();
        }
        Ok(Reply::Json {
            status,
            body,
            claimed,
        }) => {
            shared.metrics.count_request(label, status);
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
        Ok(Reply::Text(text)) => {
            shared.metrics.count_request(label, 200);
            answer(
                shared,
                store,
                request,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                text.into_bytes(),
                &[],
            );
        }
        Err(error) => {
            let status = error.status();
            shared.metrics.count_request(label, status);
            let body = serde_json::to_vec(&ErrorResponse::new(error.message()))
                .unwrap_or_else(|_| b"{}".to_vec());
            let extra = match &error {
                ApiError::MethodNotAllowed(allowed) => Some(("Allow", *allowed)),
                ApiError::Unauthorized(_) => Some(("WWW-Authenticate", "Bearer")),
                _ => None,
            };
            let _ = send(request, status, "application/json", body, extra);
        }
    }
}

fn respond_to(
    shared: &Shared,
    store: &mut Store,
    cache: &mut Option<ReadCache>,
    request: &mut Request,
    route: Route,
) -> Result<Reply, ApiError> {
    if !route.allows(request.method()) {
        return Err(ApiError::MethodNotAllowed(route.allowed()));
    }
    if request
        .body_length()
        .is_some_and(|length| length > MAX_BODY_BYTES)
    {
        return Err(ApiError::PayloadTooLarge);
    }
    if matches!(route, Route::Event(..) | Route::Cleanup) || *request.method() == Method::Post {
        // A write by this worker's connection: see `ReadCache`.
        *cache = None;
    }
    let query = Query::parse(request.url());
    let now = Utc::now();
    match route {
        Route::Health => Ok(health(store)),
        Route::Events if *request.method() == Method::Post => {
            let body = read_body(request)?;
            publish(shared, store, &body)
        }
        Route::Events => {
            // A safe read, as in the original: `lease` (older consumers send it) is ignored,
            // and `wait` long-polls for something due without claiming it.
            let events_query = EventsQuery {
                lease: 0,
                ..events_query(&query)?
            };
            if let Some(hit) = ReadCache::lookup(cache, store, &events_query) {
                if hit.count > 0 || events_query.wait == 0 {
                    return Ok(hit.reply());
                }
            }
            let events = claim(shared, store, &events_query)?;
            *cache = ReadCache::new(store, &events_query, &events);
            Ok(answer_or_park(shared, events_query, events))
        }
        Route::Claim => {
            require_empty_body(&read_body(request)?)?;
            let events_query = EventsQuery {
                lease: query.int("lease", 1..=EventsQuery::LEASE_MAX as i64, 60)? as u64,
                ..events_query(&query)?
            };
            shared.note_claim();
            let events = claim(shared, store, &events_query)?;
            Ok(answer_or_park(shared, events_query, events))
        }
        Route::Ack => {
            let acks = parse_acks(&read_body(request)?)?;
            let marked = store.ack(&acks, now)?;
            let results = acks
                .iter()
                .zip(marked)
                .map(|((id, _), acked)| {
                    if let Some(acked) = &acked {
                        shared.metrics.record_delivery(acked, now);
                    }
                    let status = ack_outcome(acked.map(|acked| acked.marked));
                    shared.metrics.count_ack(status);
                    AckResult { id: *id, status }
                })
                .collect();
            Ok(Reply::json(
                200,
                &AckResponse {
                    success: true,
                    results,
                },
            ))
        }
        Route::Event(id, Action::Processed) => {
            let acked = store
                .ack(&[(id, Ack::Processed)], now)?
                .pop()
                .flatten()
                .ok_or_else(|| anyhow::Error::from(StoreError::NotFound(id)))?;
            shared.metrics.record_delivery(&acked, now);
            shared.metrics.count_ack(ack_outcome(Some(acked.marked)));
            Ok(mark_reply(id, "processed"))
        }
        Route::Event(id, Action::Failed) => {
            let body = read_body(request)?;
            let failure = parse_failure(&body)?;
            let marked = store.mark_failed(id, &failure, now)?;
            shared.metrics.count_ack(ack_outcome(Some(marked)));
            Ok(mark_reply(id, "failed"))
        }
        Route::Event(id, Action::Retry) => {
            store.retry(&[id])?;
            Ok(mark_reply(id, "pending"))
        }
        Route::Stats => {
            let stats = store.stats(now)?;
            let config = &shared.config;
            Ok(Reply::json(
                200,
                &json!({
                    "success": true,
                    "stats": stats,
                    "config": {
                        "max_attempts": config.policy.max_attempts,
                        "retention_seconds": config.retention.as_secs(),
                        "auth_required": config.token.is_some(),
                        "workers": config.workers,
                        "version": env!("CARGO_PKG_VERSION"),
                    },
                    "timestamp": format_timestamp(now),
                }),
            ))
        }
        Route::Cleanup => {
            let days = query.int("days", 0..=36_500, 7)?;
            let deleted = store.cleanup(now - chrono::Duration::days(days), false)?;
            Ok(Reply::json(
                200,
                &json!({ "success": true, "days": days, "deleted_count": deleted }),
            ))
        }
        Route::Failed => {
            let limit = query.int("limit", 1..=1000, 50)?;
            let events = store.failed(limit)?;
            Ok(Reply::json(
                200,
                &EventsResponse {
                    success: true,
                    count: events.len(),
                    events,
                    timestamp: Some(format_timestamp(now)),
                },
            ))
        }
        Route::Metrics => {
            let stats = store.stats(now)?;
            Ok(Reply::Text(shared.metrics.render(&stats)))
        }
    }
}

fn health(store: &Store) -> Reply {
    // A read that touches the file: answers even when the database cannot be written.
    let available = store.data_version().is_ok();
    Reply::json(
        200,
        &HealthResponse {
            status: if available { "healthy" } else { "degraded" }.into(),
            success: true,
            queue_available: available,
            config_valid: true,
            timestamp: format_timestamp(Utc::now()),
        },
    )
}

fn publish(shared: &Shared, store: &mut Store, body: &[u8]) -> Result<Reply, ApiError> {
    let mut event: NewEvent = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("invalid event: {error}")))?;
    let now = Utc::now();
    event.complete(shared.config.codespace.as_deref(), now);
    event
        .validate()
        .map_err(|error| ApiError::BadRequest(format!("{error:#}")))?;
    let published = store
        .publish(std::slice::from_ref(&event), Duration::ZERO, now)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("the store published nothing".into()))?;
    if !published.duplicate {
        shared.metrics.published.fetch_add(1, Ordering::Relaxed);
    }
    Ok(Reply::json(
        if published.duplicate { 200 } else { 201 },
        &PublishResponse {
            success: true,
            event_id: published.id,
            duplicate: published.duplicate,
        },
    ))
}

/// `limit`, `max_attempts` and `wait`, shared by the read and the claim; `lease` is the
/// claim's own.
fn events_query(query: &Query) -> Result<EventsQuery, ApiError> {
    Ok(EventsQuery {
        limit: query.int("limit", 1..=EventsQuery::LIMIT_MAX, 50)?,
        max_attempts: query.optional_int("max_attempts", 1..=100)?,
        lease: 0,
        wait: query.int("wait", 0..=EventsQuery::WAIT_MAX as i64, 0)? as u64,
    })
}

/// The events found, or, when there are none and the client asked to wait, a place in the
/// lobby.
fn answer_or_park(shared: &Shared, query: EventsQuery, events: Vec<Event>) -> Reply {
    if events.is_empty() && query.wait > 0 && !shared.stopping.load(Ordering::SeqCst) {
        Reply::Park(query)
    } else {
        events_reply(&query, events)
    }
}

fn ack_outcome(marked: Option<Marked>) -> AckOutcome {
    match marked {
        Some(Marked::Processed) => AckOutcome::Processed,
        Some(Marked::AlreadyProcessed) => AckOutcome::AlreadyProcessed,
        Some(Marked::WillRetry) => AckOutcome::WillRetry,
        Some(Marked::DeadLettered) => AckOutcome::DeadLettered,
        None => AckOutcome::NotFound,
    }
}

/// Claims what is due (or, with a zero lease, reads it). A `max_attempts` below the server's
/// only narrows what is handed out: events past it are given back at once.
pub(super) fn claim(
    shared: &Shared,
    store: &mut Store,
    query: &EventsQuery,
) -> Result<Vec<Event>, ApiError> {
    let mut events = store.claim(
        Claim {
            limit: query.limit,
            lease: query.lease_duration(),
        },
        Utc::now(),
    )?;
    if let Some(max_attempts) = query.max_attempts {
        let (keep, give_back): (Vec<Event>, Vec<Event>) = events
            .into_iter()
            .partition(|event| event.attempts < max_attempts);
        if query.lease > 0 && !give_back.is_empty() {
            let ids: Vec<i64> = give_back.iter().map(|event| event.id).collect();
            store.release(&ids)?;
        }
        events = keep;
    }
    if query.lease > 0 {
        shared
            .metrics
            .claimed
            .fetch_add(events.len() as u64, Ordering::Relaxed);
    }
    Ok(events)
}
