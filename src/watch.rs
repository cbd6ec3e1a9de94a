//! "Tell me when the database may have changed": one thread per [`Watch`] that waits on
//! inotify for writes to the database file and its write-ahead log, in this process or any
//! other, so that whoever waits for events (serve's long polls, local-mode consume, the
//! announcer) sleeps without polling. Where inotify is missing or fails, it falls back to a
//! slow tick.
//!
//! A notification means "look now" (read `PRAGMA data_version` or claim), never "something
//! was committed": SQLite writes a commit's log frames before it syncs them and makes them
//! visible, so the first write is seen a few milliseconds before its commit can be read. After
//! each write a second thread therefore notifies again, every millisecond for 20 ms and then
//! at growing pauses up to 100 ms after the last write, and then sleeps until the next.
//!
//! Notifications cost the most exactly when nobody needs them: a consumer draining a backlog
//! writes a commit every millisecond and never waits. So the watch notifies only while someone
//! holds an [`Interest`]: a waiter takes one *before* the look whose outcome it may wait on,
//! and keeps it until its wait ends. Without interest the watcher stops reading inotify (the
//! kernel keeps one event per file, merged) and the settling stops; when interest comes back,
//! a write in the last 100 ms (by the files' modification times) is notified and settled as if
//! just seen, so a commit on its way to visibility when the waiter looked still wakes it.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

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

/// While one is held, the watch notifies (see the module's docs); dropping it ends that.
/// Take it before looking at the database, wait with it, drop it once done waiting.
pub struct Interest {
    shared: Arc<Shared>,
}

type Subscriber = Box<dyn Fn() + Send + Sync>;

struct Shared {
    mode: Mode,
    state: Mutex<State>,
    /// Rung when the count grows (for [`Interest::wait`]).
    bell: Condvar,
    /// Rung when interest comes back (for the watcher or the fallback's tick).
    armed: Condvar,
    subscribers: Mutex<Vec<Subscriber>>,
    settle: Settle,
}

struct State {
    /// How many times the database may have changed since the watch started.
    changes: u64,
    /// How many [`Interest`]s are held.
    interested: usize,
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

    /// A watch that only ticks every `interval` while someone is interested (the fallback;
    /// also for tests).
    pub fn polling(interval: Duration, reason: String) -> Watch {
        let watch = Watch::with_mode(Mode::Polling(reason));
        let shared = Arc::clone(&watch.shared);
        // Without a thread nothing would ever be noticed; a watch that cannot tick is still
        // a watch whose callers wake on their own timeouts.
        let _ = spawn(move || loop {
            shared.until_interested();
            thread::sleep(interval);
            if shared.interested() {
                shared.notify();
            }
        });
        watch
    }

    fn with_mode(mode: Mode) -> Watch {
        Watch {
            shared: Arc::new(Shared {
                mode,
                state: Mutex::new(State {
                    changes: 0,
                    interested: 0,
                }),
                bell: Condvar::new(),
                armed: Condvar::new(),
                subscribers: Mutex::new(Vec::new()),
                settle: Settle {
                    last_write: Mutex::new(None),
                    bell: Condvar::new(),
                },
            }),
        }
    }

    pub fn mode(&self) -> &Mode {
        &self.shared.mode
    }

    /// Starts notifying, until the returned interest is dropped. Take it before the look
    /// whose outcome you may wait on: a commit after it is notified, and so is one whose
    /// write came up to 100 ms before it.
    pub fn interest(&self) -> Interest {
        let mut state = lock(&self.shared.state);
        state.interested += 1;
        if state.interested == 1 {
            self.shared.armed.notify_all();
        }
        Interest {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Calls `notify` on the watcher's thread each time the database may have changed (while
    /// anyone holds an [`Interest`]), after the count has grown. Keep it short (ring a bell):
    /// the next notification waits for it.
    pub fn subscribe(&self, notify: impl Fn() + Send + Sync + 'static) {
        lock(&self.shared.subscribers).push(Box::new(notify));
    }
}

impl Interest {
    /// A count that grows each time the database may have changed.
    pub fn changes(&self) -> u64 {
        lock(&self.shared.state).changes
    }

    /// Blocks until [`changes`](Self::changes) differs from `seen` or `timeout` has passed,
    /// and returns the count then.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.shared.state);
        while state.changes == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = wait(&self.shared.bell, state, Some(left));
        }
        state.changes
    }
}

impl Drop for Interest {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.interested = state.interested.saturating_sub(1);
    }
}

impl Shared {
    fn notify(&self) {
        {
            let mut state = lock(&self.state);
            state.changes = state.changes.wrapping_add(1);
            self.bell.notify_all();
        }
        for subscriber in lock(&self.subscribers).iter() {
            subscriber();
        }
    }

    fn interested(&self) -> bool {
        lock(&self.state).interested > 0
    }

    /// Sleeps until someone holds an [`Interest`].
    fn until_interested(&self) {
        let mut state = lock(&self.state);
        while state.interested == 0 {
            state = wait(&self.armed, state, None);
        }
    }
}

/// The notifications after a write, while its commit may still be on its way to visibility.
struct Settle {
    last_write: Mutex<Option<Instant>>,
    bell: Condvar,
}

impl Settle {
    /// Starts (or restarts) the settling after a write at `written`.
    fn wrote(&self, written: Instant) {
        let mut last_write = lock(&self.last_write);
        if last_write.is_none_or(|last| last < written) {
            *last_write = Some(written);
        }
        self.bell.notify_all();
    }

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
            let settling = *last_write;
            drop(last_write);
            let interested = shared.interested();
            if interested {
                shared.notify();
            }
            last_write = lock(&self.last_write);
            if !interested && *last_write == settling {
                // Nobody to tell, and no write since: interest coming back looks at the
                // files' times instead.
                *last_write = None;
            }
        }
    }
}

/// inotify on the database's directory, for the names that hold its data: the directory
/// rather than the files, so a log created or replaced later is seen too.
struct Watcher {
    inotify: Inotify,
    dir: PathBuf,
    names: Vec<OsString>,
}

impl Watcher {
    fn new(db_path: &Path) -> io::Result<Watcher> {
        let inotify = Inotify::init()?;
        let dir = parent(db_path);
        inotify.watches().add(
            &dir,
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
        Ok(Watcher {
            inotify,
            dir,
            names,
        })
    }

    /// While someone is interested, blocks on inotify and notifies at once on every write;
    /// the settling notifications come from a second thread, so a write is never noticed late
    /// because the watcher was pausing. While nobody is, sleeps.
    fn run(mut self, shared: &Arc<Shared>) {
        {
            let shared = Arc::clone(shared);
            // Without it (no thread to be had), a commit seen before it was visible waits
            // for the next write: late, never lost.
            let _ = spawn(move || shared.settle.run(&shared));
        }
        let mut buffer = [0u8; 4096];
        loop {
            shared.until_interested();
            // What the kernel kept while nobody was interested is old news, except a write
            // recent enough that its commit may not have been visible to the interested
            // party's look: that one is notified and settled as if just seen.
            while let Ok(mut events) = self.inotify.read_events(&mut buffer) {
                if events.next().is_none() {
                    break;
                }
            }
            if let Some(written) = self.last_write() {
                shared.notify();
                shared.settle.wrote(written);
            }
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
                if !shared.interested() {
                    break;
                }
                shared.notify();
                shared.settle.wrote(Instant::now());
            }
        }
    }

    /// When one of the database's files was last written, if within the settling time.
    fn last_write(&self) -> Option<Instant> {
        let now = SystemTime::now();
        self.names
            .iter()
            .filter_map(|name| std::fs::metadata(self.dir.join(name)).ok()?.modified().ok())
            .map(|modified| now.duration_since(modified).unwrap_or_default())
            .filter(|age| *age <= SETTLE_LAST)
            .min()
            .map(|age| Instant::now().checked_sub(age).unwrap_or_else(Instant::now))
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

    /// A watch on `events.db` in a new directory.
    fn watched() -> (tempfile::TempDir, Watch) {
        let dir = tempfile::tempdir().unwrap();
        let watch = Watch::start(&dir.path().join("events.db"));
        (dir, watch)
    }

    fn counting(watch: &Watch) -> Arc<Mutex<u64>> {
        let rung = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&rung);
        watch.subscribe(move || *counted.lock().unwrap() += 1);
        rung
    }

    #[test]
    fn a_write_to_the_database_or_its_log_is_noticed_and_others_are_not() {
        let (dir, watch) = watched();
        assert_eq!(watch.mode(), &Mode::Inotify);
        let rung = counting(&watch);
        let interest = watch.interest();
        // Another file in the same directory: no notification.
        let seen = interest.changes();
        std::fs::write(dir.path().join("other.txt"), "x").unwrap();
        assert_eq!(interest.wait(seen, Duration::from_millis(300)), seen);
        for name in ["events.db", "events.db-wal"] {
            let seen = interest.changes();
            std::fs::write(dir.path().join(name), "x").unwrap();
            assert_ne!(interest.wait(seen, Duration::from_secs(10)), seen, "{name}");
        }
        assert!(*rung.lock().unwrap() > 0);
        // After a burst, the watcher settles and stops notifying.
        thread::sleep(Duration::from_millis(500));
        let settled = interest.changes();
        assert_eq!(interest.wait(settled, Duration::from_millis(300)), settled);
    }

    #[test]
    fn nothing_is_notified_while_nobody_is_interested() {
        let (dir, watch) = watched();
        let rung = counting(&watch);
        for _ in 0..20 {
            std::fs::write(dir.path().join("events.db-wal"), "x").unwrap();
            thread::sleep(Duration::from_millis(5));
        }
        // Past the settling time, interest finds the writes old: nothing to look at.
        thread::sleep(SETTLE_LAST * 3);
        assert_eq!(*rung.lock().unwrap(), 0);
        let interest = watch.interest();
        let seen = interest.changes();
        assert_eq!(interest.wait(seen, Duration::from_millis(300)), seen);
        assert_eq!(*rung.lock().unwrap(), 0);
        // Dropped, and taken again: a write in between is noticed as before.
        drop(interest);
        let interest = watch.interest();
        let seen = interest.changes();
        std::fs::write(dir.path().join("events.db-wal"), "x").unwrap();
        assert_ne!(interest.wait(seen, Duration::from_secs(10)), seen);
    }

    #[test]
    fn a_write_just_before_interest_still_wakes_the_waiter() {
        let (dir, watch) = watched();
        // Someone interested earlier, so the watcher is reading when the write comes, then
        // not: the write is read while nobody is interested and must not be lost.
        drop(watch.interest());
        // A commit's log write, just before a waiter takes interest and looks (the commit
        // is not visible yet, so its look finds nothing and it waits).
        std::fs::write(dir.path().join("events.db-wal"), "x").unwrap();
        let interest = watch.interest();
        let seen = interest.changes();
        assert_ne!(interest.wait(seen, Duration::from_secs(10)), seen);
    }

    #[test]
    fn the_fallback_ticks_while_someone_is_interested_and_says_why() {
        let watch = Watch::polling(Duration::from_millis(10), "test".into());
        assert_eq!(watch.mode(), &Mode::Polling("test".into()));
        let rung = counting(&watch);
        thread::sleep(Duration::from_millis(100));
        assert_eq!(*rung.lock().unwrap(), 0);
        let interest = watch.interest();
        let seen = interest.changes();
        assert_ne!(interest.wait(seen, Duration::from_secs(10)), seen);
    }
}
