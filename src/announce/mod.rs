//! `dq serve --announce`: this serve tells its consumers (`dq consume --announce-key`) where it
//! is and which token to send (`POST URL/sources`, `api::Announcement`), so a consumer needs no
//! list of sources, and a consumer that a hosting platform put to sleep (Render's free plan
//! stops a service after 15 minutes without an inbound request and starts it on the next one)
//! is woken when events wait.
//!
//! It announces at these times and no others:
//! - at start, then every `every` (the heartbeat: a restarted consumer relearns this serve, and
//!   a platform that sleeps idle services sees an inbound request);
//! - when events are due and nobody claims them: due for `wake::GRACE`, with no claim parked
//!   in the lobby and none arrived in `wake::CLAIM_QUIET` (the wake). It is checked again every
//!   second for as long as that lasts, and rung again at growing gaps;
//! - after a failed try, with backoff.
//!
//! How the parts fit:
//! - `wake`: the wake rule, on one thread with its own store connection, told by the server's
//!   [`Activity`] whether a claim waits and when the last one came, and by its watch when the
//!   database changed; with nothing due it sleeps until a write or a lease or backoff ends;
//! - `consumer`: one thread per consumer: its schedule (heartbeat, retries, wakes), the POST and
//!   what its answer means, logged once per change of state, never the key or the token.
//!
//! Announcing never slows or fails serving: it has threads and a connection of its own, reads
//! the queue only (WAL readers do not block writers), and its failures are only logged.

mod consumer;
mod wake;

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::api::Announcement;
use crate::server::Activity;
use crate::store::Store;
use crate::sync::{lock, wait};

pub use consumer::consumer_url;

/// Where log lines go (serve's stderr); one line per call, without a trailing newline.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// What the announcer runs with, resolved by `cmd::serve`.
pub struct Settings {
    /// The consumers' base URLs, checked by [`consumer_url`].
    pub consumers: Vec<String>,
    /// Sent as `Authorization: Bearer <key>`.
    pub key: String,
    /// What each announcement says: this serve's public URL, its token and its name.
    pub announcement: Announcement,
    /// The heartbeat.
    pub every: Duration,
}

/// Starts announcing on threads of their own, which run until the process exits. `store` is
/// the wake rule's own connection to the queue.
pub fn start(settings: Settings, activity: Activity, mut store: Store, log: Log) -> Result<()> {
    let agent = consumer::agent();
    let body =
        Arc::new(serde_json::to_vec(&settings.announcement).context("encoding the announcement")?);
    let mut bells = Vec::new();
    for url in settings.consumers {
        let bell = Arc::new(Bell::default());
        bells.push(Arc::clone(&bell));
        let consumer = consumer::Consumer {
            url,
            key: settings.key.clone(),
            body: Arc::clone(&body),
            public_url: settings.announcement.url.clone(),
            agent: agent.clone(),
        };
        let every = settings.every;
        let log = Arc::clone(&log);
        spawn("dq-announce", move || consumer.run(every, &bell, &log))?;
    }
    spawn("dq-announce-wake", move || {
        wake::watch(&mut store, &activity, &log, || {
            for bell in &bells {
                bell.ring();
            }
        });
    })?;
    Ok(())
}

/// How the wake rule tells a consumer's thread to announce now: a count of rings.
#[derive(Default)]
struct Bell {
    rings: Mutex<u64>,
    condvar: Condvar,
}

impl Bell {
    fn ring(&self) {
        let mut rings = lock(&self.rings);
        *rings = rings.wrapping_add(1);
        self.condvar.notify_all();
    }

    /// The rings so far.
    fn rings(&self) -> u64 {
        *lock(&self.rings)
    }

    /// Blocks until the count differs from `seen` or `until` passes; returns the count then.
    fn wait(&self, seen: u64, until: Instant) -> u64 {
        let mut rings = lock(&self.rings);
        while *rings == seen {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            rings = wait(&self.condvar, rings, Some(left));
        }
        *rings
    }
}

/// `first` doubled after each of the `count - 1` before it, at most `last`: the announcer's
/// growing gaps (the wake's rings, the retries of a failing consumer).
fn doubling(first: Duration, count: u32, last: Duration) -> Duration {
    let doublings = count.saturating_sub(1).min(16);
    first.saturating_mul(2u32.pow(doublings)).min(last)
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<()> {
    thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map(drop)
        .with_context(|| format!("starting thread {name}"))
}
