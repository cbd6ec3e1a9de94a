//! "Tell me when the database may have changed": one thread per [`Watch`] that waits on
//! inotify for writes to the database file and its write-ahead log, in this process or any
//! other, so that whoever waits for events (serve's long polls, local-mode consume) sleeps
//! without polling. Where inotify is missing or fails, it falls back to a slow tick.
//!
//! A notification means "look now" (read `PRAGMA data_version` or claim), never "something
//! was committed": SQLite writes a commit's log frames before it syncs them and makes them
//! visible, so the first write is seen a few milliseconds before its commit can be read. After
//! each write a second thread therefore notifies again, every millisecond for 20 ms and then
//! at growing pauses up to 100 ms after the last write, and then sleeps until the next.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use inotify::{EventMask, Inotify, WatchMask};

use crate::sync::{lock, wait};

/// How often the fallback looks, where inotify cannot be used.
pub const FALLBACK_INTERVAL: Duration = Duration::from_secs(1);

/// After a write the watcher notifies again every `SETTLE_FIRST` for `SETTLE_STEADY` (a
/// commit becomes visible after its sync, a few milliseconds on a real disk, more on a busy
/// one), then at pauses half as long as the quiet so far, until `SETTLE_LAST` without a write.
const SETTLE_FIRST: Duration = Duration::from_millis(1);
const SETTLE_STEADY: Duration = Duration::from_millis(20);
const SETTLE_LAST: Duration = Duration::from_millis(100);

/// How changes are noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Woken by the kernel on every write; no cost while nothing is written.
    Inotify,
    /// Every [`FALLBACK_INTERVAL`], because inotify could not be used (the reason).
    Polling(String),
}

/// A handle on a running watcher; clones share it. Its threads run until the process ends.
#[derive(Clone)]
pub struct Watch {
    shared: Arc<Shared>,
}

type Subscriber = Box<dyn Fn() + Send + Sync>;

struct Shared {
    mode: Mode,
    /// How many times the database may have changed since the watch started.
    changes: Mutex<u64>,
    bell: Condvar,
    subscribers: Mutex<Vec<Subscriber>>,
}

impl Watch {
    /// Starts watching the database at `db_path` (the file need not exist yet). Never fails:
    /// without inotify the watch ticks every [`FALLBACK_INTERVAL`]; [`mode`](Self::mode) says
    /// which, for the caller to report.
    pub fn start(db_path: &Path) -> Watch {
        match Watcher::new(db_path) {
            Ok(watcher) => {
                let watch = Watch::with_mode(Mode::Inotify);
                let shared = Arc::clone(&watch.shared);
                if spawn(move || watcher.run(&shared)).is_ok() {
                    return watch;
                }
                Watch::polling(FALLBACK_INTERVAL, "no thread for the watcher".into())
            }
            Err(error) => Watch::polling(
                FALLBACK_INTERVAL,
                format!("inotify on {}: {error}", parent(db_path).display()),
            ),
        }
    }

    /// A watch that only ticks every `interval` (the fallback; also for tests).
    pub fn polling(interval: Duration, reason: String) -> Watch {
        let watch = Watch::with_mode(Mode::Polling(reason));
        let shared = Arc::clone(&watch.shared);
        // Without a thread nothing would ever be noticed; a watch that cannot tick is still
        // a watch whose callers wake on their own timeouts.
        let _ = spawn(move || loop {
            thread::sleep(interval);
            shared.notify();
        });
        watch
    }

    fn with_mode(mode: Mode) -> Watch {
        Watch {
            shared: Arc::new(Shared {
                mode,
                changes: Mutex::new(0),
                bell: Condvar::new(),
                subscribers: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn mode(&self) -> &Mode {
        &self.shared.mode
    }

    /// A count that grows each time the database may have changed.
    pub fn changes(&self) -> u64 {
        *lock(&self.shared.changes)
    }

    /// Blocks until [`changes`](Self::changes) differs from `seen` or `timeout` has passed,
    /// and returns the count then.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut changes = lock(&self.shared.changes);
        while *changes == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            changes = match self.shared.bell.wait_timeout(changes, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        *changes
    }

    /// Calls `notify` on the watcher's thread each time the database may have changed, after
    /// the count has grown. Keep it short (ring a bell): the next notification waits for it.
    pub fn subscribe(&self, notify: impl Fn() + Send + Sync + 'static) {
        lock(&self.shared.subscribers).push(Box::new(notify));
    }
}

impl Shared {
    fn notify(&self) {
        {
            let mut changes = lock(&self.changes);
            *changes = changes.wrapping_add(1);
            self.bell.notify_all();
        }
        for subscriber in lock(&self.subscribers).iter() {
            subscriber();
        }
    }
}

/// The notifications after a write, while its commit may still be on its way to visibility.
struct Settle {
    last_write: Mutex<Option<Instant>>,
    bell: Condvar,
}

impl Settle {
    fn run(&self, shared: &Shared) {
        let mut last_write = lock(&self.last_write);
        loop {
            let Some(written) = *last_write else {
                // Nothing written lately: sleep until the next write.
                last_write = wait(&self.bell, last_write, None);
                continue;
            };
            let quiet = written.elapsed();
            if quiet > SETTLE_LAST {
                *last_write = None;
                continue;
            }
            let pause = if quiet < SETTLE_STEADY {
                SETTLE_FIRST
            } else {
                quiet / 2
            };
            last_write = wait(&self.bell, last_write, Some(pause));
            drop(last_write);
            shared.notify();
            last_write = lock(&self.last_write);
        }
    }
}

/// inotify on the database's directory, for the names that hold its data: the directory
/// rather than the files, so a log created or replaced later is seen too.
struct Watcher {
    inotify: Inotify,
    names: Vec<OsString>,
}

impl Watcher {
    fn new(db_path: &Path) -> io::Result<Watcher> {
        let inotify = Inotify::init()?;
        inotify.watches().add(
            parent(db_path),
            WatchMask::MODIFY | WatchMask::CLOSE_WRITE | WatchMask::CREATE | WatchMask::MOVED_TO,
        )?;
        let name = db_path.file_name().map(OsString::from).unwrap_or_default();
        let names = ["", "-wal", "-journal"]
            .iter()
            .map(|suffix| {
                let mut name = name.clone();
                name.push(suffix);
                name
            })
            .collect();
        Ok(Watcher { inotify, names })
    }

    /// Blocks on inotify and notifies at once on every write; the settling notifications
    /// come from a second thread, so a write is never noticed late because the watcher was
    /// pausing.
    fn run(mut self, shared: &Arc<Shared>) {
        let settle = Arc::new(Settle {
            last_write: Mutex::new(None),
            bell: Condvar::new(),
        });
        {
            let settle = Arc::clone(&settle);
            let shared = Arc::clone(shared);
            // Without it (no thread to be had), a commit seen before it was visible waits
            // for the next write: late, never lost.
            let _ = spawn(move || settle.run(&shared));
        }
        let mut buffer = [0u8; 4096];
        loop {
            match self.inotify.read_events_blocking(&mut buffer) {
                Ok(events) => {
                    if !self.relevant(events) {
                        continue;
                    }
                }
                // The watch is gone (the directory was removed): nothing more will come.
                Err(_) => return,
            }
            shared.notify();
            *lock(&settle.last_write) = Some(Instant::now());
            settle.bell.notify_all();
        }
    }

    fn relevant<'a>(
        &self,
        events: impl Iterator<Item = inotify::Event<&'a std::ffi::OsStr>>,
    ) -> bool {
        let mut relevant = false;
        for event in events {
            if event.mask.contains(EventMask::Q_OVERFLOW) {
                relevant = true;
            }
            if event
                .name
                .is_some_and(|name| self.names.iter().any(|ours| ours == name))
            {
                relevant = true;
            }
        }
        relevant
    }
}

fn parent(db_path: &Path) -> PathBuf {
    match db_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn spawn(body: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new()
        .name("dq-watch".into())
        .stack_size(64 * 1024)
        .spawn(body)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_to_the_database_or_its_log_is_noticed_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let watch = Watch::start(&db);
        assert_eq!(watch.mode(), &Mode::Inotify);
        let rung = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&rung);
        watch.subscribe(move || *counted.lock().unwrap() += 1);
        // Another file in the same directory: no notification.
        let seen = watch.changes();
        std::fs::write(dir.path().join("other.txt"), "x").unwrap();
        assert_eq!(watch.wait(seen, Duration::from_millis(300)), seen);
        for name in ["events.db", "events.db-wal"] {
            let seen = watch.changes();
            std::fs::write(dir.path().join(name), "x").unwrap();
            assert_ne!(watch.wait(seen, Duration::from_secs(10)), seen, "{name}");
        }
        assert!(*rung.lock().unwrap() > 0);
        // After a burst, the watcher settles and stops notifying.
        thread::sleep(Duration::from_millis(500));
        let settled = watch.changes();
        assert_eq!(watch.wait(settled, Duration::from_millis(300)), settled);
    }

    #[test]
    fn the_fallback_ticks_and_says_why() {
        let watch = Watch::polling(Duration::from_millis(10), "test".into());
        assert_eq!(watch.mode(), &Mode::Polling("test".into()));
        let seen = watch.changes();
        assert_ne!(watch.wait(seen, Duration::from_secs(10)), seen);
    }
}
