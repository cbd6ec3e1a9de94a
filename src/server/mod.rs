//! The HTTP API: a tiny_http loop that maps (method, path) to a store call and answers JSON.
//!
//! How the parts fit, in the order a request meets them:
//! - this file: [`Config`], [`Server`] and the threads (workers, lobby, housekeeping, shutdown);
//! - `listener`: the listening socket, its per-connection timeouts and connection limit (also
//!   used by consume's listener);
//! - `routes`: which (method, path) is which route, and its label in the metrics;
//! - `auth`: the bearer token; `query` and `body`: what a request carries;
//! - `handlers`: one function per route, calling the store;
//! - `reply`: what a handler answers and how it is written (releasing the events of an answer
//!   the client did not get); `errors`: every failure as one enum, one match to a status;
//! - `lobby`: long polls parked until something is due; `read_cache`: a worker's last read;
//! - `metrics`: the counters behind `/discord/metrics`; `retention`: the cleanup thread.
//!
//! Threads, and why (none wakes up on a timer while nothing happens):
//! - tiny_http accepts on one thread, blocked in `accept`, and reads every connection's requests
//!   on a pooled thread of its own, so a client that sends half a request only holds its own
//!   thread. Each accepted socket gets `request_timeout` as its receive and send timeout, so
//!   a silent client is dropped. At most `max_connections` are served at once; a few more
//!   get one request each (health answers, anything else 503), the rest a 503 at once.
//! - `workers` threads block on tiny_http's queue, each with its own SQLite connection
//!   (SQLite serializes writers; readers run in parallel under WAL). On shutdown each is
//!   unblocked once.
//! - A long poll that finds nothing due does not hold a worker: it is parked in the *lobby*,
//!   one thread with its own connection, asleep until a long poll arrives, the database may
//!   have changed (the [`Watch`](crate::watch::Watch): inotify, in this process or another),
//!   a lease or backoff ends, a wait runs out, or the server stops.
//! - A housekeeping thread deletes processed events older than the retention (at most hourly).
//! - The caller's thread blocks in `run` until its `wait_for_stop` returns (a signal).

mod auth;
mod body;
mod errors;
mod handlers;
mod listener;
mod lobby;
mod metrics;
mod query;
mod read_cache;
mod reply;
mod retention;
mod routes;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::store::{Policy, Store};
use crate::sync::lock;
use crate::watch::Watch;
use handlers::handle;
pub use listener::{listen, Listening, RESERVE};
use lobby::{wait_in_lobby, Waiting};
use metrics::Metrics;
use read_cache::ReadCache;
use retention::keep_house;

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
    /// Connections served at once (see `listener`).
    pub max_connections: usize,
}

/// A bound server; `run` serves until told to stop.
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
    http: tiny_http::Server,
    /// Tells the lobby when the database may have changed.
    watch: Watch,
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
    /// Claims parked in the lobby now (a subset of the long polls, which include reads).
    claims_waiting: AtomicU64,
}

impl Server {
    /// Binds the address (port 0 picks a free one) and opens the database connections.
    pub fn bind(config: Config) -> Result<Server> {
        let Listening { http, addr } =
            listen(&config.bind, config.request_timeout, config.max_connections)?;
        let worker_stores = (0..config.workers.max(1))
            .map(|_| open_store(&config))
            .collect::<Result<Vec<Store>>>()?;
        let lobby_store = open_store(&config)?;
        let watch = Watch::start(&config.db_path);
        Ok(Server {
            worker_stores,
            lobby_store,
            shared: Arc::new(Shared {
                config,
                addr,
                http,
                watch,
                stopping: AtomicBool::new(false),
                finished: AtomicBool::new(false),
                lobby: Mutex::new(Vec::new()),
                lobby_bell: Condvar::new(),
                housekeeping: Mutex::new(()),
                housekeeping_bell: Condvar::new(),
                metrics: Metrics::default(),
                last_claim: Mutex::new(None),
                claims_waiting: AtomicU64::new(0),
            }),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// How this server notices changes to the database (for `cmd::serve` to report a fallback).
    pub fn watch(&self) -> &Watch {
        &self.shared.watch
    }

    /// What this server's consumers are doing, for a thread that outlives `run`'s caller
    /// (the announcer of issue 8: announce when events are due and nobody is claiming).
    pub fn activity(&self) -> Activity {
        Activity {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves until `wait_for_stop` returns (it blocks, until a signal), then finishes the
    /// requests in flight (long polls answer at once with what is due) and returns.
    pub fn run(self, wait_for_stop: impl FnOnce()) -> Result<()> {
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
            // Weak: the watcher's thread outlives the server and must not keep it alive.
            let weak = Arc::downgrade(&self.shared);
            self.shared.watch.subscribe(move || {
                if let Some(shared) = weak.upgrade() {
                    ring(&shared.lobby, &shared.lobby_bell);
                }
            });
            spawn("dq-lobby", move || wait_in_lobby(&shared, store))?
        };
        let housekeeping = {
            let shared = Arc::clone(&self.shared);
            spawn("dq-housekeeping", move || keep_house(&shared))?
        };

        wait_for_stop();
        self.shared.stopping.store(true, Ordering::SeqCst);
        ring(&self.shared.lobby, &self.shared.lobby_bell);
        ring(&self.shared.housekeeping, &self.shared.housekeeping_bell);
        // One unblock per worker, queued after the requests already read.
        for _ in &workers {
            self.shared.http.unblock();
        }
        for worker in workers {
            let _ = worker.join();
        }
        self.shared.finished.store(true, Ordering::SeqCst);
        ring(&self.shared.lobby, &self.shared.lobby_bell);
        let _ = lobby.join();
        let _ = housekeeping.join();
        Ok(())
    }
}

/// A handle on what a running server's consumers are doing; clones share it.
#[derive(Clone)]
pub struct Activity {
    shared: Arc<Shared>,
}

impl Activity {
    /// Claims (`POST /discord/events/claim?wait=`) waiting in the lobby now: a consumer is
    /// connected and will take the next due event at once. Reads with `wait` do not count.
    pub fn claims_waiting(&self) -> u64 {
        self.shared.claims_waiting.load(Ordering::Relaxed)
    }

    /// When the last claim request arrived (answered or still waiting), if any has.
    pub fn last_claim(&self) -> Option<Instant> {
        *lock(&self.shared.last_claim)
    }

    /// Tells when the database may have changed (a publish from any process, a mark): with a
    /// store's `next_due_after` for leases and backoffs ending, when events may have become due.
    pub fn watch(&self) -> &Watch {
        &self.shared.watch
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

fn ring<T>(mutex: &Mutex<T>, bell: &Condvar) {
    let _guard = lock(mutex);
    bell.notify_all();
}

fn work(shared: &Shared, mut store: Store) {
    let mut cache: Option<ReadCache> = None;
    loop {
        match shared.http.recv() {
            Ok(request) => handle(shared, &mut store, &mut cache, request),
            Err(error) => {
                if shared.stopping.load(Ordering::SeqCst) {
                    // Unblocked for shutdown. The unblocks were queued after the requests
                    // tiny_http had read, so those have been answered (by this worker or
                    // another); draining with `try_recv` here would swallow the other
                    // workers' unblocks.
                    return;
                }
                // The accept loop ended on an error that leaves the listener unusable; the
                // connections already open are still served.
                let _ = writeln!(
                    io::stderr(),
                    "dq serve: no longer accepting connections on {}: {error}",
                    shared.addr
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpStream;
    use std::sync::mpsc;

    #[test]
    fn activity_tells_a_waiting_claim_and_the_last_claim() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            bind: "127.0.0.1:0".into(),
            db_path: dir.path().join("events.db"),
            policy: Policy::default(),
            busy_timeout: Duration::from_secs(5),
            token: None,
            retention: Duration::from_secs(86_400),
            workers: 2,
            request_timeout: Duration::from_secs(30),
            codespace: None,
            max_connections: 16,
        };
        let server = Server::bind(config).unwrap();
        let addr = server.local_addr();
        let activity = server.activity();
        let (stop, stopped) = mpsc::channel::<()>();
        let running = thread::spawn(move || {
            server
                .run(move || {
                    let _ = stopped.recv();
                })
                .unwrap()
        });
        assert_eq!(
            (activity.claims_waiting(), activity.last_claim()),
            (0, None)
        );
        let mut poll = TcpStream::connect(addr).unwrap();
        poll.write_all(
            b"POST /discord/events/claim?wait=30 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\
              Connection: close\r\n\r\n",
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while activity.claims_waiting() == 0 {
            assert!(Instant::now() < deadline, "the claim never parked");
            thread::sleep(Duration::from_millis(10));
        }
        assert!(activity.last_claim().is_some());
        // A publish from another connection (as from another process) answers the claim.
        let mut store = Store::open(
            &dir.path().join("events.db"),
            Policy::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        let event = crate::event::NewEvent {
            event_type: "custom".into(),
            payload: serde_json::Map::new(),
            user_id: String::new(),
            dedup_key: None,
            presentation: Default::default(),
        };
        store
            .publish(&[event], Duration::ZERO, chrono::Utc::now())
            .unwrap();
        let mut answer = String::new();
        poll.read_to_string(&mut answer).unwrap();
        assert!(answer.contains("\"count\":1"), "{answer}");
        assert_eq!(activity.claims_waiting(), 0);
        stop.send(()).unwrap();
        running.join().unwrap();
    }
}
