//! A fake consumer on 127.0.0.1:0 for the tests of `dq serve --announce`: it records every
//! request it receives (when, the `Authorization` header, the body) and answers
//! `POST /sources` as `dq consume --announce-key` does (200 `{"success":true,"status":
//! "registered"|"refreshed",...}`), or as a test tells it: another status, or no answer at
//! all (a consumer that hangs while it starts).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::serve::eventually;

/// How the fake answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// As `dq consume` does: 200 and an `Announced` body.
    Accept,
    /// This status with a JSON error body.
    Status(u16),
    /// Nothing: the connection stays open until the fake is dropped.
    Hang,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

struct Shared {
    received: Mutex<Vec<Received>>,
    /// Replies for the next requests, then `default`.
    queued: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    known: Mutex<HashSet<String>>,
    held: Mutex<Vec<tiny_http::Request>>,
}

pub struct FakeConsumer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
}

impl FakeConsumer {
    pub fn start() -> FakeConsumer {
        FakeConsumer::replying(Reply::Accept)
    }

    pub fn replying(default: Reply) -> FakeConsumer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binding the fake"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("the fake consumer's address");
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            queued: Mutex::new(VecDeque::new()),
            default: Mutex::new(default),
            known: Mutex::new(HashSet::new()),
            held: Mutex::new(Vec::new()),
        });
        let (serving, answering) = (Arc::clone(&server), Arc::clone(&shared));
        thread::spawn(move || {
            while let Ok(request) = serving.recv() {
                answer(&answering, request);
            }
        });
        FakeConsumer {
            addr,
            server,
            shared,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How the requests after the queued ones are answered.
    pub fn reply(&self, reply: Reply) {
        *lock(&self.shared.default) = reply;
    }

    /// How the next requests are answered, one each, before the default again.
    pub fn queue(&self, replies: &[Reply]) {
        lock(&self.shared.queued).extend(replies.iter().copied());
    }

    /// Forgets every source, as a consumer that restarted.
    pub fn forget(&self) {
        lock(&self.shared.known).clear();
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.shared.received).len()
    }

    /// Waits until `count` requests have arrived; all of them so far.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        eventually(timeout, || self.count() >= count);
        self.received()
    }
}

impl Drop for FakeConsumer {
    fn drop(&mut self) {
        self.server.unblock();
        lock(&self.shared.held).clear();
    }
}

fn answer(shared: &Shared, mut request: tiny_http::Request) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let authorization = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("Authorization"))
        .map(|header| header.value.to_string());
    lock(&shared.received).push(Received {
        at: Instant::now(),
        method: request.method().to_string(),
        path: request.url().to_string(),
        authorization,
        body: body.clone(),
    });
    let reply = lock(&shared.queued)
        .pop_front()
        .unwrap_or(*lock(&shared.default));
    let (status, text) = match reply {
        Reply::Hang => {
            lock(&shared.held).push(request);
            return;
        }
        Reply::Accept => {
            let url = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|value| value["url"].as_str().map(str::to_string))
                .unwrap_or_default();
            let status = if lock(&shared.known).insert(url.clone()) {
                "registered"
            } else {
                "refreshed"
            };
            let name = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|value| value["name"].as_str().map(str::to_string))
                .unwrap_or_default();
            (
                200,
                json!({"success": true, "status": status, "url": url, "name": name}),
            )
        }
        Reply::Status(status) => (
            status,
            json!({"success": false, "error": format!("the fake says {status}")}),
        ),
    };
    let header =
        tiny_http::Header::from_bytes("Content-Type", "application/json").expect("a valid header");
    let response = tiny_http::Response::from_string(text.to_string())
        .with_status_code(status)
        .with_header(header);
    let _ = request.respond(response);
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
