//! The HTTP API: a tiny_http loop that maps (method, path) to a store call and answers JSON.
//!
//! Threads, and why:
//! - tiny_http reads every connection's request head on a pooled thread of its own, so a client
//!   that sends half a request only holds its own thread. The listening socket gets a receive
//!   and send timeout before tiny_http sees it; Linux copies both to every accepted socket, so
//!   a silent client is dropped after `request_timeout` instead of holding a thread forever.
//!   The receive timeout also bounds `accept`, and tiny_http's accept loop ends on the first
//!   error, so a *wake-up* thread connects to the listener more often than the timeout; should
//!   the loop end anyway (the process was stopped for longer), a new tiny_http server is built
//!   on the same socket and the old one is still drained for its open connections.
//! - `workers` threads take parsed requests from tiny_http's queue, each with its own SQLite
//!   connection (SQLite serializes writers; readers run in parallel under WAL).
//! - A long poll that finds nothing due does not hold a worker: it is parked in the *lobby*,
//!   one thread with its own connection that, while anyone waits, checks `PRAGMA data_version`
//!   every few milliseconds (it changes when any other connection, in this process or another,
//!   commits) and also wakes when a lease or backoff ends, when a wait runs out and on shutdown.
//! - A housekeeping thread deletes processed events older than the retention.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response};

use crate::api::{
    self, ErrorResponse, EventsQuery, EventsResponse, HealthResponse, MarkResponse,
    PublishResponse, MAX_BODY_BYTES,
};
use crate::event::{format_timestamp, Event, NewEvent};
use crate::secret::constant_time_eq;
use crate::store::{Claim, Failure, Marked, Policy, Store, StoreError};

/// How often the lobby looks for commits while a long poll waits: the wake-up delay's bound.
const WATCH_INTERVAL: Duration = Duration::from_millis(5);
/// How long a worker blocks on tiny_http's queue before it looks at the stop flag again.
const RECV_INTERVAL: Duration = Duration::from_millis(100);
/// The longest `retry_after` a consumer may ask for.
const RETRY_AFTER_MAX_SECONDS: f64 = 7.0 * 86_400.0;

/// What the server runs with, resolved by `cmd::serve` from flags and environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub db_path: PathBuf,
    pub policy: Policy,
    pub busy_timeout: Duration,
    /// `None`: no authentication (`--no-auth`).
    pub token: Option<String>,
    /// Processed events older than this are deleted.
    pub retention: Duration,
    pub workers: usize,
    /// A client that sends nothing for this long (mid-request or between requests) is dropped.
    pub request_timeout: Duration,
    /// Added to published payloads that carry no `codespace_name`.
    pub codespace: Option<String>,
}

/// A bound server; `run` serves until the stop flag is set.
pub struct Server {
    shared: Arc<Shared>,
    /// One connection per worker and one for the lobby, opened by `bind`: once the address
    /// is printed, a database damaged or locked by then costs 503s, not the process.
    worker_stores: Vec<Store>,
    lobby_store: Store,
}

struct Shared {
    config: Config,
    addr: SocketAddr,
    /// A handle on the listening socket, to build a new tiny_http server on it if needed.
    listener: TcpListener,
    /// The tiny_http server accepting connections now.
    http: Mutex<Arc<tiny_http::Server>>,
    /// Servers whose accept loop ended; their open connections may still send requests.
    retired: Mutex<Vec<Arc<tiny_http::Server>>>,
    /// Set on SIGTERM/SIGINT: long polls answer now, nothing new is parked.
    stopping: AtomicBool,
    /// Set once every worker has exited: the lobby may exit too.
    finished: AtomicBool,
    lobby: Mutex<Vec<Waiting>>,
    lobby_bell: Condvar,
    housekeeping: Mutex<()>,
    housekeeping_bell: Condvar,
    metrics: Metrics,
}

/// A long poll parked until an event is due, its wait ends or the server stops.
struct Waiting {
    request: Request,
    query: EventsQuery,
    deadline: Instant,
}

impl Server {
    /// Binds the address (port 0 picks a free one) with the socket timeouts in place.
    pub fn bind(config: Config) -> Result<Server> {
        let listener = TcpListener::bind(&config.bind)
            .with_context(|| format!("listening on {}", config.bind))?;
        let listener = with_timeouts(listener, config.request_timeout)
            .context("setting the socket timeouts")?;
        let addr = listener
            .local_addr()
            .context("reading the listening address")?;
        let http = http_server(&listener)?;
        let worker_stores = (0..config.workers.max(1))
            .map(|_| open_store(&config))
            .collect::<Result<Vec<Store>>>()?;
        let lobby_store = open_store(&config)?;
        Ok(Server {
            worker_stores,
            lobby_store,
            shared: Arc::new(Shared {
                config,
                addr,
                listener,
                http: Mutex::new(Arc::new(http)),
                retired: Mutex::new(Vec::new()),
                stopping: AtomicBool::new(false),
                finished: AtomicBool::new(false),
                lobby: Mutex::new(Vec::new()),
                lobby_bell: Condvar::new(),
                housekeeping: Mutex::new(()),
                housekeeping_bell: Condvar::new(),
                metrics: Metrics::default(),
            }),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Serves until `stop` is set, then finishes the requests in flight (long polls answer at
    /// once with what is due) and returns.
    pub fn run(self, stop: &AtomicBool) -> Result<()> {
        let config = &self.shared.config;
        let mut workers = Vec::with_capacity(config.workers);
        for (index, store) in self.worker_stores.into_iter().enumerate() {
            let shared = Arc::clone(&self.shared);
            workers.push(spawn(&format!("dq-worker-{index}"), move || {
                work(&shared, store)
            })?);
        }
        let lobby = {
            let store = self.lobby_store;
            let shared = Arc::clone(&self.shared);
            spawn("dq-lobby", move || wait_in_lobby(&shared, store))?
        };
        let housekeeping = {
            let shared = Arc::clone(&self.shared);
            spawn("dq-housekeeping", move || keep_house(&shared))?
        };
        let wake_up = {
            let shared = Arc::clone(&self.shared);
            spawn("dq-wake-up", move || keep_accepting(&shared))?
        };

        while !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(25));
        }
        self.shared.stopping.store(true, Ordering::SeqCst);
        ring(&self.shared.lobby, &self.shared.lobby_bell);
        ring(&self.shared.housekeeping, &self.shared.housekeeping_bell);
        for worker in workers {
            let _ = worker.join();
        }
        self.shared.finished.store(true, Ordering::SeqCst);
        ring(&self.shared.lobby, &self.shared.lobby_bell);
        let _ = lobby.join();
        let _ = housekeeping.join();
        let _ = wake_up.join();
        Ok(())
    }
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .with_context(|| format!("starting thread {name}"))
}

fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.db_path, config.policy, config.busy_timeout)
}

/// Sets SO_RCVTIMEO, SO_SNDTIMEO and TCP_NODELAY on the listening socket. std offers them only on streams,
/// so the descriptor passes through a `TcpStream` and back; the kernel does not care.
fn with_timeouts(listener: TcpListener, timeout: Duration) -> io::Result<TcpListener> {
    let timeout = Some(timeout.max(Duration::from_millis(1)));
    let socket = TcpStream::from(OwnedFd::from(listener));
    socket.set_read_timeout(timeout)?;
    socket.set_write_timeout(timeout)?;
    // Answers go out in two writes (see `send`); without this, Nagle's algorithm holds the
    // second until the client's delayed ACK, 40 ms later. Also copied to accepted sockets.
    socket.set_nodelay(true)?;
    Ok(TcpListener::from(OwnedFd::from(socket)))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked holding it; the data is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ring<T>(mutex: &Mutex<T>, bell: &Condvar) {
    let _guard = lock(mutex);
    bell.notify_all();
}

fn http_server(listener: &TcpListener) -> Result<tiny_http::Server> {
    let listener = listener
        .try_clone()
        .context("duplicating the listening socket")?;
    tiny_http::Server::from_listener(listener, None)
        .map_err(|error| anyhow::anyhow!("starting the HTTP server: {error}"))
}

fn work(shared: &Shared, mut store: Store) {
    let mut cache: Option<ReadCache> = None;
    loop {
        let http = Arc::clone(&lock(&shared.http));
        let retired: Vec<Arc<tiny_http::Server>> = lock(&shared.retired).clone();
        for old in &retired {
            while let Ok(Some(request)) = old.try_recv() {
                handle(shared, &mut store, &mut cache, request);
            }
        }
        if shared.stopping.load(Ordering::SeqCst) {
            // Answer what tiny_http has already read, then stop.
            while let Ok(Some(request)) = http.try_recv() {
                handle(shared, &mut store, &mut cache, request);
            }
            return;
        }
        match http.recv_timeout(RECV_INTERVAL) {
            Ok(Some(request)) => handle(shared, &mut store, &mut cache, request),
            Ok(None) => {}
            // tiny_http's accept loop has ended (it does on any accept error).
            Err(_) => replace_http_server(shared, &http),
        }
    }
}

/// Builds a new tiny_http server on the listening socket if `failed` is still the current one;
/// `failed` is kept, drained by the workers, for the connections it still has.
fn replace_http_server(shared: &Shared, failed: &Arc<tiny_http::Server>) {
    let mut current = lock(&shared.http);
    if !Arc::ptr_eq(&current, failed) {
        return;
    }
    match http_server(&shared.listener) {
        Ok(fresh) => {
            let old = std::mem::replace(&mut *current, Arc::new(fresh));
            lock(&shared.retired).push(old);
            let _ = writeln!(
                io::stderr(),
                "dq serve: the accept loop stopped; listening again on {}",
                shared.addr
            );
        }
        // Out of descriptors, most likely: try again shortly.
        Err(_) => thread::sleep(RECV_INTERVAL),
    }
}

/// Connects to the listener well within the receive timeout, which also bounds `accept`: an
/// idle server's accept loop would otherwise end after `request_timeout`.
fn keep_accepting(shared: &Shared) {
    let interval = (shared.config.request_timeout / 4).max(Duration::from_millis(200));
    let target = match shared.addr {
        SocketAddr::V4(addr) if addr.ip().is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        SocketAddr::V6(addr) if addr.ip().is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        addr => addr,
    };
    loop {
        {
            let guard = lock(&shared.housekeeping);
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            let _ = shared.housekeeping_bell.wait_timeout(guard, interval);
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
        }
        // Connected and closed at once: tiny_http reads end-of-file and drops it.
        let _ = TcpStream::connect_timeout(&target, Duration::from_secs(1));
    }
}

// ---------------------------------------------------------------------------------------------
// Routing

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Events,
    Event(i64, Action),
    Stats,
    Cleanup,
    Failed,
    Metrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Processed,
    Failed,
    Retry,
}

impl Route {
    /// The label in `dq_http_requests_total`: a small fixed set, never a raw path.
    fn label(route: Option<Route>) -> &'static str {
        match route {
            Some(Route::Health) => "health",
            Some(Route::Events) => "events",
            Some(Route::Event(_, Action::Processed)) => "event_processed",
            Some(Route::Event(_, Action::Failed)) => "event_failed",
            Some(Route::Event(_, Action::Retry)) => "event_retry",
            Some(Route::Stats) => "stats",
            Some(Route::Cleanup) => "cleanup",
            Some(Route::Failed) => "failed",
            Some(Route::Metrics) => "metrics",
            None => "other",
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Route::Events => matches!(method, Method::Get | Method::Post),
            Route::Event(..) | Route::Cleanup => *method == Method::Post,
            Route::Health | Route::Stats | Route::Failed | Route::Metrics => *method == Method::Get,
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            Route::Events => "GET, POST",
            Route::Event(..) | Route::Cleanup => "POST",
            Route::Health | Route::Stats | Route::Failed | Route::Metrics => "GET",
        }
    }
}

fn parse_route(path: &str) -> Result<Route, ApiError> {
    let not_found = || ApiError::NotFound(format!("no route {}", printable(path)));
    Ok(match path {
        api::HEALTH => Route::Health,
        api::EVENTS => Route::Events,
        api::STATS => Route::Stats,
        api::CLEANUP => Route::Cleanup,
        api::FAILED => Route::Failed,
        api::METRICS => Route::Metrics,
        _ => {
            let rest = path
                .strip_prefix(api::EVENTS)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(not_found)?;
            let (id, action) = rest.split_once('/').ok_or_else(not_found)?;
            let action = match action {
                "processed" => Action::Processed,
                "failed" => Action::Failed,
                "retry" => Action::Retry,
                _ => return Err(not_found()),
            };
            Route::Event(parse_id(id)?, action)
        }
    })
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid event id {:?}", printable(text)));
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<i64>().map_err(|_| bad())
}

/// At most 100 characters of client input, for an error message.
fn printable(text: &str) -> String {
    let mut shown: String = text.chars().take(100).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

// ---------------------------------------------------------------------------------------------
// Errors: one enum, one match to a status.

#[derive(Debug)]
enum ApiError {
    BadRequest(String),
    Unauthorized(&'static str),
    NotFound(String),
    MethodNotAllowed(&'static str),
    RequestTimeout,
    Conflict(String),
    PayloadTooLarge,
    Unavailable(String),
    Internal(String),
}

impl ApiError {
    fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::RequestTimeout => 408,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable(_) => 503,
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::BadRequest(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::Internal(message) => message.clone(),
            ApiError::Unavailable(message) => format!("the queue is unavailable: {message}"),
            ApiError::Unauthorized(message) => (*message).into(),
            ApiError::MethodNotAllowed(allowed) => format!("method not allowed; use {allowed}"),
            ApiError::RequestTimeout => "the request body did not arrive in time".into(),
            ApiError::PayloadTooLarge => {
                format!("request body over {} KiB", MAX_BODY_BYTES / 1024)
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> ApiError {
        if let Some(store_error) = error.downcast_ref::<StoreError>() {
            return match store_error {
                StoreError::NotFound(_) => ApiError::NotFound(store_error.to_string()),
                StoreError::NotFailed(_) => ApiError::Conflict(store_error.to_string()),
            };
        }
        let storage_fault = error.chain().any(|cause| {
            use rusqlite::ErrorCode::*;
            matches!(
                cause.downcast_ref::<rusqlite::Error>(),
                Some(rusqlite::Error::SqliteFailure(failure, _)) if matches!(
                    failure.code,
                    DatabaseBusy | DatabaseLocked | ReadOnly | DiskFull | CannotOpen
                        | PermissionDenied | SystemIoFailure | OutOfMemory
                        // The file was damaged or replaced under us: the queue is unavailable
                        // until it is restored, which is no fault of the request's.
                        | DatabaseCorrupt | NotADatabase
                )
            ) || cause.downcast_ref::<io::Error>().is_some()
        });
        if storage_fault {
            ApiError::Unavailable(format!("{error:#}"))
        } else {
            ApiError::Internal(format!("{error:#}"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handling one request

/// What a handler answers.
enum Reply {
    Json {
        status: u16,
        body: Vec<u8>,
        /// Ids this answer leased: released if the client is gone before it gets them.
        claimed: Vec<i64>,
    },
    Text(String),
    /// Nothing is due yet: wait in the lobby.
    Park(EventsQuery),
}

impl Reply {
    fn json(status: u16, body: &impl Serialize) -> Reply {
        Reply::Json {
            status,
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
            claimed: Vec::new(),
        }
    }
}

fn handle(shared: &Shared, store: &mut Store, cache: &mut Option<ReadCache>, mut request: Request) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    // Everything but health needs the token, even to learn which paths exist.
    let route = if path == api::HEALTH {
        Ok(Route::Health)
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
            let deadline = Instant::now() + Duration::from_secs(query.wait);
            let mut lobby = lock(&shared.lobby);
            lobby.push(Waiting {
                request,
                query,
                deadline,
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

/// Sends an answer; if the client is gone, the events it would have carried are released.
#[allow(clippy::too_many_arguments)]
fn answer(
    shared: &Shared,
    store: &mut Store,
    request: Request,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    claimed: &[i64],
) {
    if send(request, status, content_type, body, None).is_err()
        && !claimed.is_empty()
        && store.release(claimed).is_ok()
    {
        shared
            .metrics
            .released
            .fetch_add(claimed.len() as u64, Ordering::Relaxed);
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
            let events_query = EventsQuery {
                limit: query.int("limit", 1..=EventsQuery::LIMIT_MAX, 50)?,
                max_attempts: query.optional_int("max_attempts", 1..=100)?,
                lease: query.int("lease", 0..=EventsQuery::LEASE_MAX as i64, 60)? as u64,
                wait: query.int("wait", 0..=EventsQuery::WAIT_MAX as i64, 0)? as u64,
            };
            let reading = events_query.lease == 0;
            if reading {
                if let Some(hit) = ReadCache::lookup(cache, store, &events_query) {
                    if hit.count > 0 || events_query.wait == 0 {
                        return Ok(hit.reply());
                    }
                }
            } else {
                // This connection's own commits do not move its data_version.
                *cache = None;
            }
            let events = claim(shared, store, &events_query)?;
            if reading {
                *cache = ReadCache::new(store, &events_query, &events);
            }
            if events.is_empty() && events_query.wait > 0 && !shared.stopping.load(Ordering::SeqCst)
            {
                return Ok(Reply::Park(events_query));
            }
            Ok(events_reply(&events_query, events))
        }
        Route::Event(id, Action::Processed) => {
            let marked = store.mark_processed(id, now)?;
            if marked == Marked::Processed {
                shared.metrics.processed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(mark_reply(id, "processed"))
        }
        Route::Event(id, Action::Failed) => {
            let body = read_body(request)?;
            let failure = parse_failure(&body)?;
            let marked = store.mark_failed(id, &failure, now)?;
            let counter = match marked {
                Marked::DeadLettered => &shared.metrics.dead_lettered,
                Marked::WillRetry => &shared.metrics.failed,
                Marked::Processed | Marked::AlreadyProcessed => &shared.metrics.late_failures,
            };
            counter.fetch_add(1, Ordering::Relaxed);
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

fn authorize(shared: &Shared, request: &Request) -> Result<(), ApiError> {
    let Some(token) = &shared.config.token else {
        return Ok(());
    };
    let header = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("Authorization"))
        .ok_or(ApiError::Unauthorized(
            "missing Authorization: Bearer <token> header",
        ))?;
    check_bearer(header.value.as_str(), token)
}

/// Checks an `Authorization` value against the token. The token is compared with
/// [`constant_time_eq`] only, so the answer's timing tells nothing about how much of a guess
/// was right.
fn check_bearer(value: &str, token: &str) -> Result<(), ApiError> {
    let value = value.trim();
    let (scheme, presented) = value
        .split_once(' ')
        .ok_or(ApiError::Unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized(
            "malformed Authorization header; use Bearer <token>",
        ));
    }
    if constant_time_eq(presented.trim().as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("wrong token"))
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

/// The original API's body is `{"error_message": ...}` (any other keys ignored); an empty
/// body, as the original accepted, records "Unknown error".
fn parse_failure(body: &[u8]) -> Result<Failure, ApiError> {
    let bad = |message: &str| ApiError::BadRequest(message.into());
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Failure {
            message: "Unknown error".into(),
            retryable: true,
            retry_after: None,
        });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("the body is not JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    let message = match object.get("error_message") {
        None | Some(Value::Null) => "Unknown error".to_string(),
        Some(Value::String(message)) => message.clone(),
        Some(_) => return Err(bad("error_message must be a string")),
    };
    let retryable = match object.get("retryable") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(retryable)) => *retryable,
        Some(_) => return Err(bad("retryable must be true or false")),
    };
    let retry_after = match object.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => match number.as_f64() {
            Some(seconds) if (0.0..=RETRY_AFTER_MAX_SECONDS).contains(&seconds) => {
                Some(Duration::from_secs_f64(seconds))
            }
            _ => return Err(bad("retry_after must be 0 to 604800 seconds")),
        },
        Some(_) => return Err(bad("retry_after must be a number of seconds")),
    };
    Ok(Failure {
        message,
        retryable,
        retry_after,
    })
}

fn read_body(request: &mut Request) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|error| match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ApiError::RequestTimeout,
            _ => ApiError::BadRequest(format!("reading the body: {error}")),
        })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}

/// Claims what is due for one `GET /discord/events`. A `max_attempts` below the server's
/// only narrows what is handed out: events past it are given back at once.
fn claim(shared: &Shared, store: &mut Store, query: &EventsQuery) -> Result<Vec<Event>, ApiError> {
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

fn events_reply(query: &EventsQuery, events: Vec<Event>) -> Reply {
    let claimed = if query.lease > 0 {
        events.iter().map(|event| event.id).collect()
    } else {
        Vec::new()
    };
    let body = EventsResponse {
        success: true,
        count: events.len(),
        events,
        timestamp: Some(format_timestamp(Utc::now())),
    };
    match Reply::json(200, &body) {
        Reply::Json { status, body, .. } => Reply::Json {
            status,
            body,
            claimed,
        },
        other => other,
    }
}

/// A worker's last answer to a read-only `GET /discord/events?lease=0`, reused while nothing
/// has been committed anywhere and for at most `READ_CACHE_TTL`. Commits by other connections
/// (other workers, the lobby, other processes) move this connection's `PRAGMA data_version`;
/// its own writes drop the cache explicitly. The time limit covers what no commit announces:
/// a lease or backoff running out, which a read sees at most that much later.
struct ReadCache {
    query: EventsQuery,
    data_version: i64,
    made: Instant,
    count: usize,
    /// The serialized `events` array.
    events: Vec<u8>,
}

const READ_CACHE_TTL: Duration = Duration::from_millis(100);

impl ReadCache {
    fn new(store: &Store, query: &EventsQuery, events: &[Event]) -> Option<ReadCache> {
        Some(ReadCache {
            query: *query,
            data_version: store.data_version().ok()?,
            made: Instant::now(),
            count: events.len(),
            events: serde_json::to_vec(events).ok()?,
        })
    }

    fn lookup<'a>(
        cache: &'a Option<ReadCache>,
        store: &Store,
        query: &EventsQuery,
    ) -> Option<&'a ReadCache> {
        let hit = cache.as_ref()?;
        let same_query = hit.query.limit == query.limit
            && hit.query.max_attempts == query.max_attempts
            && hit.query.lease == query.lease;
        (same_query
            && hit.made.elapsed() < READ_CACHE_TTL
            && store.data_version().ok()? == hit.data_version)
            .then_some(hit)
    }

    /// The same bytes `events_reply` would send, with a fresh timestamp.
    fn reply(&self) -> Reply {
        let timestamp = format_timestamp(Utc::now());
        let mut body = Vec::with_capacity(self.events.len() + 96);
        body.extend_from_slice(
            format!("{{\"success\":true,\"count\":{},\"events\":", self.count).as_bytes(),
        );
        body.extend_from_slice(&self.events);
        body.extend_from_slice(format!(",\"timestamp\":\"{timestamp}\"}}").as_bytes());
        Reply::Json {
            status: 200,
            body,
            claimed: Vec::new(),
        }
    }
}

fn mark_reply(id: i64, status: &str) -> Reply {
    Reply::json(
        200,
        &MarkResponse {
            success: true,
            event_id: id,
            status: status.into(),
        },
    )
}

/// Writes the response. The head and the body go out in two writes, so a client that has
/// gone away shows up as an error on the second (its kernel has answered the first with a
/// reset by then, at least on a local network); tiny_http's own `respond` hides such errors.
fn send(
    request: Request,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    extra: Option<(&str, &str)>,
) -> io::Result<()> {
    let mut response = Response::from_data(body).with_status_code(status);
    for (name, value) in [("Content-Type", content_type), ("Server", "dq")]
        .into_iter()
        .chain(extra)
    {
        if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    let mut bytes = Vec::with_capacity(256);
    let head_only = *request.method() == Method::Head;
    response.raw_print(
        &mut bytes,
        request.http_version().clone(),
        request.headers(),
        head_only,
        None,
    )?;
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(bytes.len(), |end| end + 4);
    let (head, rest) = bytes.split_at(split);
    let mut writer = request.into_writer();
    writer.write_all(head)?;
    writer.flush()?;
    if !rest.is_empty() {
        writer.write_all(rest)?;
        writer.flush()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Query strings

struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(url: &str) -> Query {
        let query = url.split_once('?').map_or("", |(_, query)| query);
        let pairs = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect();
        Query { pairs }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn optional_int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        let bad = || {
            ApiError::BadRequest(format!(
                "{name} must be an integer from {} to {}, not {:?}",
                range.start(),
                range.end(),
                printable(text)
            ))
        };
        let value: i64 = text.trim().parse().map_err(|_| bad())?;
        if range.contains(&value) {
            Ok(Some(value))
        } else {
            Err(bad())
        }
    }

    fn int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ApiError> {
        Ok(self.optional_int(name, range)?.unwrap_or(default))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The lobby: parked long polls

fn wait_in_lobby(shared: &Shared, mut store: Store) {
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

// ---------------------------------------------------------------------------------------------
// Retention

fn keep_house(shared: &Shared) {
    let config = &shared.config;
    // Often enough that a short retention (tests) is honoured, at most hourly.
    let interval = (config.retention / 2).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let mut store: Option<Store> = None;
    loop {
        if store.is_none() {
            store = open_store(config).ok();
        }
        let before = chrono::Duration::from_std(config.retention)
            .ok()
            .and_then(|retention| Utc::now().checked_sub_signed(retention));
        if let (Some(open), Some(before)) = (store.as_mut(), before) {
            match open.cleanup(before, false) {
                Ok(deleted) => {
                    shared
                        .metrics
                        .retention_deleted
                        .fetch_add(deleted as u64, Ordering::Relaxed);
                }
                // A locked or read-only database: try again next time with a fresh connection.
                Err(_) => store = None,
            }
        }
        let guard = lock(&shared.housekeeping);
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let _ = shared.housekeeping_bell.wait_timeout(guard, interval);
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics

#[derive(Default)]
struct Metrics {
    /// (route label, status) → count.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Long polls waiting in the lobby now.
    parked: AtomicU64,
    claimed: AtomicU64,
    processed: AtomicU64,
    failed: AtomicU64,
    dead_lettered: AtomicU64,
    late_failures: AtomicU64,
    released: AtomicU64,
    published: AtomicU64,
    retention_deleted: AtomicU64,
}

impl Metrics {
    fn count_request(&self, route: &'static str, status: u16) {
        *lock(&self.requests).entry((route, status)).or_insert(0) += 1;
    }

    /// Prometheus text exposition format, version 0.0.4.
    fn render(&self, stats: &crate::store::Stats) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(2048);
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP dq_events Events in the queue by state.");
        let _ = writeln!(out, "# TYPE dq_events gauge");
        for (state, count) in [
            ("pending", stats.pending),
            ("leased", stats.leased),
            ("waiting", stats.waiting),
            ("processed", stats.processed),
            ("failed", stats.failed),
        ] {
            let _ = writeln!(out, "dq_events{{state=\"{state}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP dq_http_requests_total HTTP requests answered, by route and status."
        );
        let _ = writeln!(out, "# TYPE dq_http_requests_total counter");
        for ((route, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "dq_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let counters = [
            (
                "dq_events_claimed_total",
                "Events handed out under a lease.",
                load(&self.claimed),
            ),
            (
                "dq_events_released_total",
                "Leases given back because the client went away.",
                load(&self.released),
            ),
            (
                "dq_events_published_total",
                "Events published over HTTP.",
                load(&self.published),
            ),
            (
                "dq_retention_deleted_total",
                "Processed events deleted by retention.",
                load(&self.retention_deleted),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP dq_events_acked_total Acknowledgements by outcome."
        );
        let _ = writeln!(out, "# TYPE dq_events_acked_total counter");
        for (outcome, counter) in [
            ("processed", &self.processed),
            ("will_retry", &self.failed),
            ("dead_lettered", &self.dead_lettered),
            ("already_processed", &self.late_failures),
        ] {
            let _ = writeln!(
                out,
                "dq_events_acked_total{{outcome=\"{outcome}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP dq_long_polls_waiting Long polls waiting for an event."
        );
        let _ = writeln!(out, "# TYPE dq_long_polls_waiting gauge");
        let _ = writeln!(out, "dq_long_polls_waiting {}", load(&self.parked));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_check_accepts_only_the_exact_token_and_never_echoes_it() {
        let token = "s3cret-token";
        assert!(check_bearer("Bearer s3cret-token", token).is_ok());
        assert!(check_bearer("bearer  s3cret-token ", token).is_ok());
        for wrong in [
            "",
            "Bearer",
            "Bearer ",
            "Bearer s3cret-toke",
            "Bearer s3cret-token2",
            "Bearer S3CRET-TOKEN",
            "Basic s3cret-token",
            "s3cret-token",
        ] {
            let error = check_bearer(wrong, token).unwrap_err();
            assert_eq!(error.status(), 401, "{wrong:?}");
            assert!(!error.message().contains(token), "{wrong:?}");
        }
        // The comparison is the constant-time one: same verdict on every pair.
        for presented in ["s3cret-token", "s3cret-tokem", "x", "s3cret-token-longer"] {
            assert_eq!(
                check_bearer(&format!("Bearer {presented}"), token).is_ok(),
                constant_time_eq(presented.as_bytes(), token.as_bytes())
            );
        }
    }

    #[test]
    fn routes_parse_and_bad_ids_are_rejected() {
        assert_eq!(parse_route("/discord/events").unwrap(), Route::Events);
        assert_eq!(
            parse_route("/discord/events/12/failed").unwrap(),
            Route::Event(12, Action::Failed)
        );
        for bad in ["-1", "abc", "99999999999999999999", "", "1.5", "+1"] {
            let error = parse_route(&format!("/discord/events/{bad}/processed")).unwrap_err();
            assert_eq!(error.status(), 400, "{bad:?}");
        }
        assert_eq!(
            parse_route("/discord/events/1/nope").unwrap_err().status(),
            404
        );
        assert_eq!(parse_route("/").unwrap_err().status(), 404);
    }

    #[test]
    fn query_values_are_bounded_integers() {
        let query = Query::parse("/x?limit=5&wait=abc&lease=%36%30&neg=-1");
        assert_eq!(query.int("limit", 1..=100, 50).unwrap(), 5);
        assert_eq!(query.int("absent", 1..=100, 50).unwrap(), 50);
        assert_eq!(query.int("lease", 0..=3600, 1).unwrap(), 60);
        assert!(query.int("wait", 0..=60, 0).is_err());
        assert!(query.int("neg", 0..=60, 0).is_err());
    }

    #[test]
    fn failure_bodies_follow_the_original_and_dq_keys() {
        assert_eq!(parse_failure(b"").unwrap().message, "Unknown error");
        let failure =
            parse_failure(br#"{"error_message":"x","retryable":false,"retry_after":2}"#).unwrap();
        assert!(!failure.retryable);
        assert_eq!(failure.retry_after, Some(Duration::from_secs(2)));
        for bad in [
            &b"nope"[..],
            b"[]",
            br#"{"error_message":5}"#,
            br#"{"retryable":"no"}"#,
            br#"{"retry_after":-1}"#,
            br#"{"retry_after":1e300}"#,
        ] {
            assert!(
                parse_failure(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_cached_read_answers_the_same_json_as_a_fresh_one() {
        let mut store = Store::open_in_memory(Policy::default()).unwrap();
        let event = NewEvent {
            event_type: "custom".into(),
            payload: json!({"text": "é \" \\n"}).as_object().unwrap().clone(),
            user_id: "1".into(),
            dedup_key: None,
        };
        store.publish(&[event], Duration::ZERO, Utc::now()).unwrap();
        let query = EventsQuery {
            lease: 0,
            ..EventsQuery::default()
        };
        let events = store
            .claim(
                Claim {
                    limit: 50,
                    lease: Duration::ZERO,
                },
                Utc::now(),
            )
            .unwrap();
        let body = |reply: Reply| match reply {
            Reply::Json { body, .. } => {
                let mut value: Value = serde_json::from_slice(&body).unwrap();
                value["timestamp"] = Value::Null;
                value
            }
            _ => panic!("not JSON"),
        };
        let cached = ReadCache::new(&store, &query, &events).unwrap();
        assert_eq!(body(cached.reply()), body(events_reply(&query, events)));
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%zz%"), "%zz%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
