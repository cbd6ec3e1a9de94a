//! A fake event source on 127.0.0.1:0 (tiny_http): the original Flask API's routes and JSON,
//! without leases or long polls unless asked, or a login page in front of it (a private
//! Codespace port). Records every request, and every mark with its body.
//!
//! What it answers for a route it does not have (the claim and batch ack routes, unless
//! `with_new_routes`): a JSON 404, as a `dq serve` from before them did, or Flask's HTML 404
//! page with `like_flask`. `with_new_routes` adds `POST /discord/events/claim` and
//! `POST /discord/events/ack` as today's `dq serve` answers them, and `fail_acks(n)` answers the
//! next n acknowledgement requests (batch or single) 503.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answer like the API.
    Api,
    /// Redirect every request to a login page, as GitHub does for a private port.
    LoginRedirect,
    /// Answer 200 with an HTML page.
    Html,
}

#[derive(Debug, Clone)]
pub struct SourceRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl SourceRequest {
    /// A header's value, the name in any case.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    }
}

#[derive(Debug, Clone)]
struct Stored {
    event: Value,
    processed: bool,
    failed: Option<Value>,
    /// Handed out and not marked; only honoured with `leases`.
    leased: bool,
}

struct State {
    mode: Mode,
    leases: bool,
    new_routes: bool,
    flask_404: bool,
    failing_acks: usize,
    events: Vec<Stored>,
    requests: Vec<SourceRequest>,
}

pub struct FakeSource {
    address: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
}

impl FakeSource {
    /// Like the original Flask API: every unprocessed event is handed out on every request.
    pub fn start(mode: Mode) -> FakeSource {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binding"));
        let address = format!(
            "http://{}",
            server.server_addr().to_ip().expect("an IP address")
        );
        let state = Arc::new(Mutex::new(State {
            mode,
            leases: false,
            new_routes: false,
            flask_404: false,
            failing_acks: 0,
            events: Vec::new(),
            requests: Vec::new(),
        }));
        let (thread_server, thread_state) = (Arc::clone(&server), Arc::clone(&state));
        thread::spawn(move || {
            for mut request in thread_server.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let record = SourceRequest {
                    method: request.method().to_string(),
                    url: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|header| (header.field.to_string(), header.value.to_string()))
                        .collect(),
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                };
                let (status, content_type, text, location) = answer(&thread_state, &record);
                let mut response = tiny_http::Response::from_string(text).with_status_code(status);
                let mut headers = vec![("Content-Type", content_type)];
                if let Some(location) = &location {
                    headers.push(("Location", location.clone()));
                }
                for (name, value) in headers {
                    if let Ok(header) =
                        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                    {
                        response.add_header(header);
                    }
                }
                lock(&thread_state).requests.push(record);
                let _ = request.respond(response);
            }
        });
        FakeSource {
            address,
            state,
            server,
        }
    }

    pub fn url(&self) -> String {
        self.address.clone()
    }

    /// Hand out each event once until it is marked (as `dq serve`'s leases do).
    pub fn with_leases(self) -> FakeSource {
        lock(&self.state).leases = true;
        self
    }

    /// `POST /discord/events/claim` and `POST /discord/events/ack` as today's `dq serve` (with
    /// leases).
    pub fn with_new_routes(self) -> FakeSource {
        {
            let mut state = lock(&self.state);
            state.new_routes = true;
            state.leases = true;
        }
        self
    }

    /// Unknown routes get Flask's HTML 404 page instead of JSON.
    pub fn like_flask(self) -> FakeSource {
        lock(&self.state).flask_404 = true;
        self
    }

    /// The next `count` acknowledgement requests (batch or single) answer 503.
    pub fn fail_acks(&self, count: usize) {
        lock(&self.state).failing_acks = count;
    }

    /// The requests to `path` (without the query string) with `method`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<SourceRequest> {
        self.requests()
            .into_iter()
            .filter(|request| {
                request.method == method && request.url.split('?').next() == Some(path)
            })
            .collect()
    }

    /// Adds an event as the API would list it.
    pub fn add(&self, id: i64, event_type: &str, payload: Value) {
        self.add_for(id, "", event_type, payload);
    }

    /// Adds an event for a Discord user (direct messages).
    pub fn add_for(&self, id: i64, user_id: &str, event_type: &str, payload: Value) {
        lock(&self.state).events.push(Stored {
            event: json!({
                "id": id, "user_id": user_id, "event_type": event_type, "payload": payload,
                "created_at": "2026-11-27T17:59:01.259152", "attempts": 0,
                "last_attempt": null, "error_message": null,
            }),
            processed: false,
            failed: None,
            leased: false,
        });
    }

    pub fn processed(&self) -> Vec<i64> {
        lock(&self.state)
            .events
            .iter()
            .filter(|stored| stored.processed)
            .filter_map(|stored| stored.event["id"].as_i64())
            .collect()
    }

    /// `(id, body of the failed mark)`.
    pub fn failed(&self) -> Vec<(i64, Value)> {
        lock(&self.state)
            .events
            .iter()
            .filter_map(|stored| Some((stored.event["id"].as_i64()?, stored.failed.clone()?)))
            .collect()
    }

    pub fn requests(&self) -> Vec<SourceRequest> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for FakeSource {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn answer(state: &Mutex<State>, request: &SourceRequest) -> (u16, String, String, Option<String>) {
    let mut state = lock(state);
    let json_type = "application/json".to_string();
    match state.mode {
        Mode::LoginRedirect => {
            return (
                302,
                "text/html".into(),
                "<html>Redirecting</html>".into(),
                Some("https://github.com/login?return_to=secret-path".into()),
            )
        }
        Mode::Html => {
            return (
                200,
                "text/html; charset=utf-8".into(),
                "<!DOCTYPE html><html><body>Sign in</body></html>".into(),
                None,
            )
        }
        Mode::Api => {}
    }
    let path = request.url.split('?').next().unwrap_or("");
    let query = request.url.split_once('?').map_or("", |(_, query)| query);
    let limit: usize = query
        .split('&')
        .find_map(|param| param.strip_prefix("limit="))
        .and_then(|value| value.parse().ok())
        .unwrap_or(50);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let acknowledging = request.method == "POST"
        && (segments == ["discord", "events", "ack"]
            || matches!(
                segments.as_slice(),
                ["discord", "events", _, "processed" | "failed"]
            ));
    if acknowledging && state.failing_acks > 0 {
        state.failing_acks -= 1;
        let body = json!({"success": false, "error": "database is locked"});
        return (503, json_type, body.to_string(), None);
    }
    let new_routes = state.new_routes;
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["discord", "events", "claim"]) if new_routes => {
            let leases = state.leases;
            let mut events = Vec::new();
            for stored in state.events.iter_mut() {
                if events.len() >= limit {
                    break;
                }
                if !stored.processed && stored.failed.is_none() && !(leases && stored.leased) {
                    stored.leased = true;
                    events.push(stored.event.clone());
                }
            }
            let body = json!({"success": true, "count": events.len(), "events": events,
                              "timestamp": "2026-11-27T17:59:01"});
            (200, json_type, body.to_string(), None)
        }
        ("POST", ["discord", "events", "ack"]) if new_routes => {
            let mut results = Vec::new();
            for ack in request.body["events"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let id = ack["id"].as_i64().unwrap_or(-1);
                let found = state
                    .events
                    .iter_mut()
                    .find(|stored| stored.event["id"].as_i64() == Some(id));
                let status = match found {
                    None => "not_found",
                    Some(stored) => {
                        stored.leased = false;
                        if ack["status"] == "processed" {
                            stored.processed = true;
                            "processed"
                        } else {
                            stored.failed = Some(ack.clone());
                            "will_retry"
                        }
                    }
                };
                results.push(json!({"id": id, "status": status}));
            }
            let body = json!({"success": true, "results": results});
            (200, json_type, body.to_string(), None)
        }
        ("GET", ["discord", "events"]) => {
            let leases = state.leases;
            let mut events = Vec::new();
            for stored in state.events.iter_mut() {
                if events.len() >= limit {
                    break;
                }
                let due =
                    !stored.processed && stored.failed.is_none() && !(leases && stored.leased);
                if due {
                    stored.leased = true;
                    events.push(stored.event.clone());
                }
            }
            let body = json!({"success": true, "count": events.len(), "events": events,
                              "timestamp": "2026-11-27T17:59:01"});
            (200, json_type, body.to_string(), None)
        }
        ("POST", ["discord", "events", id, action]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let Some(stored) = state
                .events
                .iter_mut()
                .find(|stored| stored.event["id"].as_i64() == Some(id))
            else {
                return (
                    404,
                    json_type,
                    json!({"success": false, "error": "no event"}).to_string(),
                    None,
                );
            };
            match *action {
                "processed" => stored.processed = true,
                "failed" => stored.failed = Some(request.body.clone()),
                _ => return (404, json_type, "{}".into(), None),
            }
            stored.leased = false;
            let body = json!({"success": true, "event_id": id, "status": action});
            (200, json_type, body.to_string(), None)
        }
        _ if state.flask_404 => (
            404,
            "text/html; charset=utf-8".into(),
            "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n\
             <p>The requested URL was not found on the server.</p>\n"
                .into(),
            None,
        ),
        _ => (
            404,
            json_type,
            json!({"success": false, "error": "not found"}).to_string(),
            None,
        ),
    }
}
