//! Helpers shared by the integration tests: the real `dq` binary and temporary databases.
//! Each area of tests adds its own file here (`serve.rs`, `discord.rs`, ...).
#![allow(dead_code)]

pub mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `dq` binary cargo built for these tests, with a clean environment for dq's variables
/// and an empty config directory, so the developer's own settings (variables or
/// `~/.config/dq/config.toml`) never leak into a test.
pub fn dq() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dq"));
    isolate(&mut command);
    command
}

/// Clears dq's variables from `command` and points it at an empty config directory; for tests
/// that run dq through another program (`bash -c`), as `dq()` does for dq itself.
pub fn isolate(command: &mut Command) -> &mut Command {
    command.env("XDG_CONFIG_HOME", empty_config_home());
    for name in [
        "DQ_DB",
        "DQ_TOKEN",
        "DQ_BIND",
        "DQ_SOURCES",
        "DQ_MAX_ATTEMPTS",
        "DQ_BUSY_TIMEOUT_MS",
        "DISCORD_USER_ID",
        "DISCORD_WEBHOOK_URL",
        "DISCORD_BOT_TOKEN",
        "DISCORD_API_BASE",
        "DQ_NO_AUTH",
        "DQ_RETENTION",
        "DQ_WORKERS",
        "DQ_REQUEST_TIMEOUT",
        "DQ_MAX_CONNECTIONS",
        "DQ_RETRY_BACKOFF",
        "DQ_ANNOUNCE",
        "DQ_PUBLIC_URL",
        "DQ_ANNOUNCE_EVERY",
        "CODESPACE_NAME",
        "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN",
        "RENDER",
        "PORT",
        // dq consume's own settings.
        "DQ_HEADER",
        "DQ_MENTION",
        "DQ_DRY_RUN",
        "DQ_ONCE",
        "DQ_WAIT",
        "DQ_POLL",
        "DQ_LEASE",
        "DQ_LANG",
        "DQ_LISTEN",
        "DQ_ANNOUNCE_KEY",
        "DQ_ALLOW_HTTP_SOURCES",
        "DQ_FORGET_AFTER",
        "DQ_MAX_SOURCES",
        // The config file's own.
        "DQ_CONFIG",
    ] {
        command.env_remove(name);
    }
    command
}

/// A directory with no `dq/config.toml` in it, shared by every test that does not write one
/// (a test that writes the default file gives dq an `XDG_CONFIG_HOME` of its own).
pub fn empty_config_home() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dq-empty-config-home");
    std::fs::create_dir_all(&path).expect("creating the empty config directory");
    path
}

/// Runs `command` with `input` on its stdin and waits for it, capturing stdout and stderr.
/// The input is written from a thread, so a large one cannot deadlock against the output.
pub fn run_with_stdin(command: &mut Command, input: impl AsRef<[u8]>) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting dq");
    let mut stdin = child.stdin.take().expect("dq's stdin");
    let input = input.as_ref().to_vec();
    let writer = std::thread::spawn(move || {
        // dq may exit before reading everything (a bad line): not an error here.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("waiting for dq");
    writer.join().expect("writing dq's stdin");
    output
}

/// A small tmpfs mounted for the test's lifetime (needs root and `mount`), for a full disk.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` where mounting is not allowed; the caller then skips, saying so.
    pub fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A temporary directory holding one database path; removed when dropped.
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> TempDb {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let path = dir.path().join("events.db");
        TempDb { dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `dq --db <this database>`.
    pub fn dq(&self) -> Command {
        let mut command = dq();
        command.arg("--db").arg(&self.path);
        command
    }

    /// Every row of the events table as text, to prove a failed command changed nothing.
    pub fn dump(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(&self.path).expect("opening the test database");
        let mut statement = conn
            .prepare("SELECT * FROM events ORDER BY id")
            .expect("preparing the dump");
        let columns = statement.column_count();
        statement
            .query_map([], |row| {
                let cells: Vec<String> = (0..columns)
                    .map(|index| format!("{:?}", row.get::<_, rusqlite::types::Value>(index)))
                    .collect();
                Ok(cells.join("|"))
            })
            .expect("dumping events")
            .collect::<Result<_, _>>()
            .expect("reading events")
    }
}
pub mod codespace;
pub mod consume;
pub mod crash;
pub mod discord;
pub mod fake_consumer;
pub mod hostile;
pub mod platform;
pub mod prometheus;
pub mod queue;
pub mod source;

/// A spawned `dq` that is killed and reaped when dropped, so a test whose assertion fails
/// leaves no process behind. It derefs to the [`std::process::Child`].
pub struct Running(Option<std::process::Child>);

/// `command.running()` spawns it as a [`Running`].
pub trait SpawnRunning {
    fn running(&mut self) -> Running;
}

impl SpawnRunning for Command {
    fn running(&mut self) -> Running {
        Running(Some(self.spawn().expect("starting dq")))
    }
}

impl Running {
    /// Waits for the exit and collects the piped output, as `Child::wait_with_output`.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        self.0.take().expect("a running child").wait_with_output()
    }
}

impl std::ops::Deref for Running {
    type Target = std::process::Child;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("a running child")
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("a running child")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
