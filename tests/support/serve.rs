//! A running `dq serve` for tests: started on 127.0.0.1 port 0, its printed address parsed,
//! killed when dropped; and a tiny raw HTTP client, so tests can also send garbage.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::TempDb;

/// Generous: a loaded 2-core CI machine can be slow to start a debug binary.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Serve {
    child: Child,
    pub addr: SocketAddr,
    /// The bearer token requests send, if any.
    pub token: Option<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// One answer: status, headers (lowercased names) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == &name.to_ascii_lowercase())
            .map(|(_, value)| value.as_str())
    }
}

impl Serve {
    /// `dq --db <db> serve --bind 127.0.0.1:0 <args>`; reads the token file it creates unless
    /// `--token` or `--no-auth` is among `args`.
    pub fn start(db: &TempDb, args: &[&str]) -> Serve {
        Serve::start_with(db, args, &[])
    }

    pub fn start_with(db: &TempDb, args: &[&str], env: &[(&str, &str)]) -> Serve {
        Serve::start_on(db, "127.0.0.1:0", args, env)
    }

    /// `dq serve --announce CONSUMER --announce-key KEY --announce-every EVERY` on a free port
    /// of 127.0.0.1, whose address is its `--public-url`: what a consumer on this machine
    /// reaches it at.
    pub fn announcing(
        db: &TempDb,
        consumer: &str,
        key: &str,
        every: &str,
        env: &[(&str, &str)],
    ) -> Serve {
        let bind = format!("127.0.0.1:{}", free_port());
        let public_url = format!("http://{bind}");
        let args = [
            "--announce",
            consumer,
            "--announce-key",
            key,
            "--public-url",
            &public_url,
            "--announce-every",
            every,
        ];
        Serve::start_on(db, &bind, &args, env)
    }

    /// Listening on `bind` (a port chosen beforehand, for a test that must name it in
    /// `--public-url`).
    pub fn start_on(db: &TempDb, bind: &str, args: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut command = db.dq();
        command
            .args(["serve", "--bind", bind])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("starting dq serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (first_line, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let collected = Arc::clone(&stdout);
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                collected.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = first_line.send(line);
            }
        });
        let err = child.stderr.take().expect("stderr");
        let collected = Arc::clone(&stderr);
        thread::spawn(move || {
            // Whole reads, not lines: serve writes its notes in one write, so a test never
            // sees half of them.
            let mut err = err;
            let mut buffer = [0u8; 4096];
            while let Ok(read) = err.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                collected.lock().unwrap().push_str(&text);
            }
        });
        let line = match lines.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dq serve printed no address; stderr: {}",
                    stderr.lock().unwrap()
                );
            }
        };
        // The notes on stderr are written before the address line.
        eventually(START_TIMEOUT, || !stderr.lock().unwrap().is_empty());
        let addr = line
            .strip_prefix("dq serve listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        let token = if args.contains(&"--no-auth") {
            None
        } else if let Some(position) = args.iter().position(|arg| *arg == "--token") {
            Some(args[position + 1].to_string())
        } else {
            env.iter()
                .find(|(name, _)| *name == "DQ_TOKEN")
                .map(|(_, value)| value.to_string())
                .or_else(|| {
                    let path = format!("{}.token", db.path().display());
                    std::fs::read_to_string(path)
                        .ok()
                        .map(|text| text.trim().to_string())
                })
        };
        Serve {
            child,
            addr,
            token,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A request with the token (if any) and `Connection: close`.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let mut headers = Vec::new();
        let auth;
        if let Some(token) = &self.token {
            auth = format!("Bearer {token}");
            headers.push(("Authorization", auth.as_str()));
        }
        self.call_with(method, path, &headers, body)
    }

    pub fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Option<&str>) -> Answer {
        self.call("POST", path, body)
    }

    /// `POST /discord/events/claim?{query}` with an empty body.
    pub fn claim(&self, query: &str) -> Answer {
        self.post(&format!("/discord/events/claim?{query}"), None)
    }

    /// `POST /discord/events/ack` with `events` (a JSON array) as the batch.
    pub fn ack(&self, events: Value) -> Answer {
        let body = serde_json::json!({ "events": events }).to_string();
        self.post("/discord/events/ack", Some(&body))
    }

    /// A request with exactly these headers (plus Host, Content-Length, Connection: close).
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("Connection: close\r\n\r\n");
        request.push_str(body);
        self.raw(request.as_bytes())
    }

    /// Sends raw bytes and reads the answer until the server closes the connection.
    pub fn raw(&self, bytes: &[u8]) -> Answer {
        parse_answer(&self.raw_bytes(bytes))
    }

    /// Sends raw bytes and returns everything the server sent back before closing.
    pub fn raw_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(self.addr).expect("connecting to dq serve");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream.write_all(bytes).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        response
    }

    /// Every event published, claimed and marked processed through HTTP is counted here.
    pub fn stats(&self) -> Value {
        let answer = self.get("/discord/stats");
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()["stats"].clone()
    }

    /// Sends SIGTERM and waits (up to 30 s) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit()
    }

    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success());
    }

    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "dq serve did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn parse_answer(response: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A port free now on 127.0.0.1 (whoever binds it next may race another test; rarely).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("finding a free port")
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Publishes `count` events with `dq publish event` and returns their ids.
pub fn publish(db: &TempDb, count: usize) -> Vec<i64> {
    let lines: String = (0..count)
        .map(|index| format!("{{\"event_type\":\"custom\",\"payload\":{{\"n\":{index}}}}}\n"))
        .collect();
    let output = super::run_with_stdin(db.dq().args(["publish", "batch"]), lines);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect()
}

/// The ids in an events answer.
pub fn ids(answer: &Answer) -> Vec<i64> {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_i64().unwrap())
        .collect()
}
