//! Processes for the crash suite: `dq serve` and `dq consume` started with their output in log
//! files (so nothing blocks on a full pipe and a failure can show what they said), killed with
//! SIGKILL and started again; `dq publish` publishers; a seeded random generator.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::serve::START_TIMEOUT;
use super::TempDb;

/// SplitMix64: the kill schedule and the publishers' chunk sizes, replayable from a seed.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    pub fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(self.between(low, high))
    }
}

/// The seed of a run: `DQ_CRASH_SEED` to replay one, else the clock.
pub fn seed() -> u64 {
    std::env::var("DQ_CRASH_SEED")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// A child process whose stdout and stderr go to `log`.
pub struct Process {
    child: Child,
    pub log: PathBuf,
}

impl Process {
    fn spawn(mut command: Command, log: &Path) -> Process {
        let file = append(log);
        let err = file.try_clone().unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("starting dq");
        Process {
            child,
            log: log.to_path_buf(),
        }
    }

    /// SIGKILL, then reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it exited on its own (it never should here).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("opening a log file")
}

/// Notes a line in a log (a kill, a restart), so the logs read as a story.
pub fn note(log: &Path, text: &str) {
    let _ = writeln!(append(log), "== crash test: {text}");
}

/// The last `lines` lines of a log, to show when an assertion fails.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `dq serve` on `port` (0: any) with `args`; waits for its address line. On a fixed port a
/// restart may find it still held for a moment, so binding is retried.
pub fn start_serve(db: &TempDb, port: u16, args: &[&str], log: &Path) -> (Process, SocketAddr) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let before = std::fs::read_to_string(log).map_or(0, |text| text.len());
        let mut command = db.dq();
        command
            .arg("serve")
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(args);
        let mut process = Process::spawn(command, log);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let new = &text[before.min(text.len())..];
            if let Some(line) = new
                .lines()
                .find_map(|line| line.strip_prefix("dq serve listening on http://"))
            {
                let addr = line.trim().parse().expect("serve's address");
                return (process, addr);
            }
            if process.exited() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "dq serve did not start:\n{}",
                tail(log, 20)
            );
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            Instant::now() < deadline,
            "dq serve did not start:\n{}",
            tail(log, 20)
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// `dq consume` with `args`.
pub fn start_consume(db: &TempDb, args: &[String], log: &Path) -> Process {
    let mut command = db.dq();
    command.arg("consume").args(args);
    Process::spawn(command, log)
}
