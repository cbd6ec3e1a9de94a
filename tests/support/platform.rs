//! A simulated hosting platform that behaves like Render's free plan, for the tests of
//! announced sources and the cold-start benchmark:
//! - it listens on 127.0.0.1:0 (`url()` is the service's public address);
//! - it starts the service (the real `dq consume`, with `PORT` set to a port it picks) only
//!   when an inbound connection arrives and nothing runs;
//! - it forwards each connection byte for byte once the service accepts connections on `PORT`;
//! - it stops the service with SIGTERM after `idle` without inbound traffic (SIGKILL if it has
//!   not exited 30 s later), as Render spins a free service down after 15 minutes.
//!
//! What the service does on its own (its outbound requests: long polls, Discord) does not
//! count as activity, exactly as on Render. It records every start and stop (`history`) so
//! tests can assert "it slept" and "it woke", and keeps the stderr of every run (`logs`).
//!
//! ```ignore
//! let platform = Platform::start(Duration::from_secs(3), || {
//!     let mut command = support::dq();
//!     command.args(["consume", "--announce-key", KEY, "--allow-http-sources"]);
//!     command
//! });
//! request(platform.addr(), "POST", "/sources", ..); // wakes it, then reaches it
//! assert!(platform.wait_until_asleep(Duration::from_secs(10)));
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::consume::collect;
use super::serve::free_port;

/// How long a started service may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped service may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A start or a stop of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Started because a connection came in; `ready` is when it first accepted one.
    Started { at: Instant, ready: Option<Instant> },
    /// Stopped after `idle` without inbound traffic; `code` is its exit code.
    Stopped { at: Instant, code: Option<i32> },
}

type Launcher = Box<dyn Fn() -> Command + Send + Sync>;

struct State {
    child: Option<Child>,
    port: u16,
    last_inbound: Instant,
    history: Vec<Change>,
}

struct Shared {
    launch: Launcher,
    idle: Duration,
    state: Mutex<State>,
    logs: Mutex<Vec<Arc<Mutex<String>>>>,
    stop: AtomicBool,
}

pub struct Platform {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Platform {
    /// Listens at once; `launch` builds the service's command (the platform adds `PORT` and
    /// collects its stderr) each time it must start.
    pub fn start(idle: Duration, launch: impl Fn() -> Command + Send + Sync + 'static) -> Platform {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the platform");
        let addr = listener.local_addr().expect("the platform's address");
        let shared = Arc::new(Shared {
            launch: Box::new(launch),
            idle,
            state: Mutex::new(State {
                child: None,
                port: 0,
                last_inbound: Instant::now(),
                history: Vec::new(),
            }),
            logs: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let shared = Arc::clone(&accepting);
                thread::spawn(move || forward(&shared, client));
            }
        });
        let watching = Arc::clone(&shared);
        thread::spawn(move || {
            while !watching.stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
                let mut state = lock(&watching.state);
                if state.child.is_some() && state.last_inbound.elapsed() >= watching.idle {
                    stop_service(&mut state);
                }
            }
        });
        Platform { addr, shared }
    }

    /// The service's public address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn history(&self) -> Vec<Change> {
        lock(&self.shared.state).history.clone()
    }

    pub fn starts(&self) -> usize {
        self.history()
            .iter()
            .filter(|change| matches!(change, Change::Started { .. }))
            .count()
    }

    pub fn stops(&self) -> usize {
        self.history()
            .iter()
            .filter(|change| matches!(change, Change::Stopped { .. }))
            .count()
    }

    pub fn running(&self) -> bool {
        lock(&self.shared.state).child.is_some()
    }

    /// Stops the service now with SIGTERM, as a deploy or a restart on the platform does; the
    /// next inbound connection starts a fresh one.
    pub fn stop(&self) {
        stop_service(&mut lock(&self.shared.state));
    }

    /// Waits until the service has been stopped (and not started again).
    pub fn wait_until_asleep(&self, timeout: Duration) -> bool {
        super::serve::eventually(timeout, || !self.running())
    }

    /// The stderr of every run of the service so far, in order.
    pub fn logs(&self) -> String {
        lock(&self.shared.logs)
            .iter()
            .map(|log| lock(log).clone())
            .collect::<Vec<_>>()
            .join("")
    }

    /// The exit codes of every stop so far.
    pub fn exit_codes(&self) -> Vec<Option<i32>> {
        self.history()
            .iter()
            .filter_map(|change| match change {
                Change::Stopped { code, .. } => Some(*code),
                Change::Started { .. } => None,
            })
            .collect()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        let mut state = lock(&self.shared.state);
        if let Some(mut child) = state.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One inbound connection: counts as activity, wakes the service, then is forwarded.
fn forward(shared: &Arc<Shared>, client: TcpStream) {
    let Some(port) = wake(shared) else {
        return;
    };
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let (Ok(client_reader), Ok(upstream_writer)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let inbound = Arc::clone(shared);
    let pump = thread::spawn(move || {
        copy(client_reader, upstream_writer, || {
            lock(&inbound.state).last_inbound = Instant::now();
        })
    });
    let _ = copy(upstream, client, || {});
    let _ = pump.join();
}

/// Starts the service if it is not running, and waits until it accepts connections.
fn wake(shared: &Shared) -> Option<u16> {
    let port = {
        let mut state = lock(&shared.state);
        state.last_inbound = Instant::now();
        if let Some(child) = state.child.as_mut() {
            if child.try_wait().ok().flatten().is_some() {
                // It exited on its own (a crash): the next request starts it again.
                let code = child
                    .try_wait()
                    .ok()
                    .flatten()
                    .and_then(|status| status.code());
                state.child = None;
                state.history.push(Change::Stopped {
                    at: Instant::now(),
                    code,
                });
            }
        }
        if state.child.is_none() {
            let port = free_port();
            let mut command = (shared.launch)();
            command
                .env("PORT", port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let mut child = command.spawn().expect("starting the service");
            let log = collect(child.stderr.take().expect("the service's stderr"));
            lock(&shared.logs).push(log);
            state.child = Some(child);
            state.port = port;
            state.history.push(Change::Started {
                at: Instant::now(),
                ready: None,
            });
        }
        state.port
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let mut state = lock(&shared.state);
            if let Some(Change::Started { ready, .. }) = state.history.last_mut() {
                ready.get_or_insert_with(Instant::now);
            }
            return Some(port);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// SIGTERM, then SIGKILL if it has not exited within `STOP_TIMEOUT`.
fn stop_service(state: &mut State) {
    let Some(mut child) = state.child.take() else {
        return;
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                break child.wait().ok().and_then(|status| status.code());
            }
        }
    };
    state.history.push(Change::Stopped {
        at: Instant::now(),
        code,
    });
}

/// Copies until end of file, calling `activity` for each chunk, then closes the writer's side.
fn copy(mut from: TcpStream, mut to: TcpStream, activity: impl Fn()) -> io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        activity();
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    Ok(())
}
