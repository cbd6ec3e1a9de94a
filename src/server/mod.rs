//! The HTTP API: a tiny_http loop that maps (method, path) to a store call and answers JSON.
//!
//! How the parts fit, in the order a request meets them:
//! - this file: [`Config`], [`Server`] and the threads (accepting, workers, shutdown);
//! - `routes`: which (method, path) is which route, and its label in the metrics;
//! - `auth`: the bearer token; `query` and `body`: what a request carries;
//! - `handlers`: one function per route, calling the store;
//! - `reply`: what a handler answers and how it is written (releasing the events of an answer
//!   the client did not get); `errors`: every failure as one enum, one match to a status;
//! - `lobby`: long polls parked until something is due; `read_cache`: a worker's last read;
//! - `metrics`: the counters behind `/discord/metrics`; `retention`: the cleanup thread.
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

mod auth;
mod body;
mod errors;
mod handlers;
mod lobby;
mod metrics;
mod query;
mod read_cache;
mod reply;
mod retention;
mod routes;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::store::{Policy, Store};
use handlers::handle;
use lobby::{wait_in_lobby, Waiting};
use metrics::Metrics;
use read_cache::ReadCache;
use retention::keep_house;

/// How long a worker blocks on tiny_http's queue before it looks at the stop flag again.
const RECV_INTERVAL: Duration = Duration::from_millis(100);

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
    /// When the last claim arrived, if any has.
    last_claim: Mutex<Option<Instant>>,
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
                last_claim: Mutex::new(None),
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

impl Shared {
    fn note_claim(&self) {
        *lock(&self.last_claim) = Some(Instant::now());
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
