//! A running `dq consume` with its listener on 127.0.0.1 port 0, for the announcement tests:
//! its printed address parsed, its stderr collected, killed when dropped; and `request`, a
//! small HTTP client for its routes (or any address).

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::hostile;
use super::serve::{eventually, parse_answer, Answer, START_TIMEOUT};

pub struct Consume {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Consume {
    /// `dq consume --listen 127.0.0.1:0 <args>`, waiting for its listener's address.
    pub fn start(args: &[&str]) -> Consume {
        let mut command = super::dq();
        command
            .args(["consume", "--listen", "127.0.0.1:0"])
            .args(args);
        Consume::spawn(command)
    }

    /// Starts `command` (a `dq consume` that listens somewhere) and waits for its address.
    pub fn spawn(mut command: Command) -> Consume {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting dq consume");
        let stderr = collect(child.stderr.take().expect("stderr"));
        let mut addr = None;
        let found = eventually(START_TIMEOUT, || {
            addr = listen_address(&stderr.lock().unwrap());
            addr.is_some() || child.try_wait().ok().flatten().is_some()
        });
        let Some(addr) = addr.filter(|_| found) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "dq consume printed no address; stderr: {}",
                stderr.lock().unwrap()
            );
        };
        Consume {
            child,
            addr,
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A request to the consumer, with `key` as the bearer token if given.
    pub fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Answer {
        let auth = key.map(|key| format!("Bearer {key}"));
        let headers: Vec<(&str, &str)> = auth
            .iter()
            .map(|value| ("Authorization", value.as_str()))
            .collect();
        request(self.addr, method, path, &headers, body)
    }

    /// Waits until the stderr holds `text`.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> bool {
        eventually(timeout, || self.stderr().contains(text))
    }

    /// Sends SIGTERM and waits (up to 30 s) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "dq consume did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Consume {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects a child's output into a string, in a thread.
pub fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let collected = Arc::clone(&text);
    thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = stream.read(&mut buffer) {
            if read == 0 {
                break;
            }
            let chunk = String::from_utf8_lossy(&buffer[..read]).into_owned();
            collected.lock().unwrap().push_str(&chunk);
        }
    });
    text
}

/// The address in consume's "dq: answering ... on http://ADDR" line.
pub fn listen_address(stderr: &str) -> Option<SocketAddr> {
    stderr
        .lines()
        .find(|line| line.starts_with("dq: answering "))
        .and_then(|line| line.rsplit("http://").next())
        .and_then(|addr| addr.trim().parse().ok())
}

/// One HTTP/1.1 request with `Connection: close`; the answer read until the server closes.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (*name, value.as_bytes()))
        .collect();
    let bytes = hostile::request(
        method,
        path.as_bytes(),
        &headers,
        body.unwrap_or("").as_bytes(),
    );
    parse_answer(&hostile::exchange(addr, bytes))
}
