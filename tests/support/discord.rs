//! A fake Discord API on 127.0.0.1:0, in-process, built from Discord's documented behaviour,
//! for the consume tests, the fault suite and the benchmark (`examples/fake_discord.rs`).
//!
//! What it does, like Discord:
//! - `POST /api/v10/webhooks/{id}/{token}[?wait=true]` executes a webhook: with `wait=true` it
//!   answers 200 and the message object, otherwise 204. `webhook_url()` is a valid webhook.
//! - `POST /api/v10/users/@me/channels {"recipient_id"}` creates (or returns) a DM channel.
//! - `POST /api/v10/channels/{id}/messages` creates a message; with `nonce` and
//!   `enforce_nonce: true`, a nonce already used in that channel returns the existing message
//!   and creates no second one.
//! - `GET /api/v10/webhooks/{id}/{token}` ("Get Webhook with Token") describes the webhook
//!   (404 10015 for an unknown one, 401 50027 for a wrong token); `GET /api/v10/users/@me` and
//!   `GET /api/v10/users/{id}` describe the bot and a user (401 without a valid bot token,
//!   404 10013 for `Config::unknown_users`).
//! - Every message is checked against Discord's limits; one that breaks any answers 400
//!   `{"code": 50035, "message": "Invalid Form Body"}`.
//! - With `Config::rate_limit`, each bucket (a webhook, a channel, DM creation) allows N
//!   requests per window and answers 429 `{message, retry_after, global}` beyond it; every
//!   answer then carries the `X-RateLimit-*` headers.
//!
//! What tests configure: `Config` (rate limit, unknown webhook → 404 10015, users whose DMs are
//! closed → 403 50007, the bot token → 401 otherwise, a delay before answering) and a queue
//! of `Fault`s applied to the next message requests (a status such as 500/502, a dropped
//! connection, a message accepted whose answer is lost, a forced 429). `Config::chaos` instead
//! draws those faults at random, at given rates, from a seeded generator (the crash suite), so
//! a failing run can be replayed with its printed seed; `injected()` counts what was applied.
//!
//! It speaks HTTP/1.1 with keep-alive over `std::net` rather than tiny_http, because the
//! faults need to close a connection without answering, which tiny_http cannot do.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The webhook `webhook_url()` points to.
pub const WEBHOOK_ID: &str = "1111";
pub const WEBHOOK_TOKEN: &str = "webhook-token";
/// What "Get Webhook with Token" says of that webhook.
pub const WEBHOOK_NAME: &str = "dq alerts";
pub const WEBHOOK_CHANNEL: &str = "2222";
pub const WEBHOOK_GUILD: &str = "3333";
/// The bot's own user, as "Get Current User" describes it.
pub const BOT_ID: &str = "4444";
pub const BOT_NAME: &str = "dq-bot";

/// Behaviour that lasts until changed.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Requests allowed per window in each bucket; `None`: no limit and no rate-limit headers.
    pub rate_limit: Option<RateLimit>,
    /// Every webhook is unknown: 404 `{"code": 10015, "message": "Unknown Webhook"}`.
    pub unknown_webhook: bool,
    /// Users who do not accept DMs: creating a message in their DM channel answers 403 50007.
    pub closed_dms: Vec<String>,
    /// When set, bot requests must carry `Authorization: Bot <this>` or get 401.
    pub bot_token: Option<String>,
    /// User ids "Get User" does not know: 404 `{"code": 10013, "message": "Unknown User"}`.
    pub unknown_users: Vec<String>,
    /// Wait this long before answering any request.
    pub delay: Duration,
    /// Faults drawn at random for message requests while no queued fault is waiting.
    pub chaos: Option<Chaos>,
}

/// Random faults on message requests (webhook execute, create message), each request drawing
/// at most one, from a generator seeded with `seed` (the same seed and the same sequence of
/// requests give the same faults).
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    pub seed: u64,
    /// Share of requests answered 500 or 502 (half each).
    pub server_error: f64,
    /// Share of connections closed without an answer, the message not created.
    pub drop: f64,
    /// Share of messages created whose answer is then lost (the connection closed).
    pub lose_response: f64,
}

/// The faults the fake applied, by kind (queued or drawn by `Chaos`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    /// 5xx answers.
    pub server_errors: u64,
    /// Connections dropped before the message was created.
    pub dropped: u64,
    /// Messages created whose answer was lost.
    pub lost_responses: u64,
    /// Forced 429s (rate-limit answers from `Config::rate_limit` are not counted).
    pub rate_limited: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

/// A one-off misbehaviour, applied in order to the next message requests (webhook execute or
/// create message).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer this status with a JSON error body (500, 502, 503, ...).
    Status(u16),
    /// Close the connection without reading further or answering.
    Drop,
    /// Create the message, then close the connection without answering.
    LoseResponse,
    /// Answer 429 with this `retry_after`.
    RateLimited { retry_after: f64, global: bool },
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Without the query string.
    pub path: String,
    pub query: String,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
    /// The JSON body, or `Null`.
    pub body: Value,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    pub at: Instant,
    /// Wall-clock time of arrival, to compare with another process's clock (the benchmark).
    pub wall: SystemTime,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A message the fake accepted (it would show in Discord).
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: String,
    /// The webhook id or the channel id.
    pub channel: String,
    pub body: Value,
    pub at: Instant,
    pub wall: SystemTime,
    /// The message was created but its answer was lost (`Fault::LoseResponse`).
    pub answer_lost: bool,
}

#[derive(Default)]
struct State {
    config: Config,
    faults: VecDeque<Fault>,
    received: Vec<Received>,
    messages: Vec<Posted>,
    /// user id → DM channel id.
    dm_channels: HashMap<String, String>,
    /// bucket → (window start, requests in it).
    windows: HashMap<String, (Instant, u32)>,
    /// The chaos generator's state; seeded on first use.
    rng: Option<u64>,
    injected: Injected,
}

pub struct FakeDiscord {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1_000_000_000_000_000);

fn next_id() -> String {
    NEXT_ID.fetch_add(1, Ordering::Relaxed).to_string()
}

impl FakeDiscord {
    pub fn start() -> FakeDiscord {
        FakeDiscord::with(Config::default())
    }

    pub fn with(config: Config) -> FakeDiscord {
        FakeDiscord::bind("127.0.0.1:0", config)
    }

    /// On a chosen address (the benchmark's standalone fake).
    pub fn bind(address: &str, config: Config) -> FakeDiscord {
        let listener = TcpListener::bind(address).expect("binding the fake Discord");
        let address = listener.local_addr().expect("reading the fake's address");
        let state = Arc::new(Mutex::new(State {
            config,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_state, accept_stop) = (Arc::clone(&state), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, stop) = (Arc::clone(&accept_state), Arc::clone(&accept_stop));
                thread::spawn(move || serve_connection(stream, &state, &stop));
            }
        });
        FakeDiscord {
            address,
            state,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The `--discord-api` base: `http://127.0.0.1:PORT/api/v10`.
    pub fn api(&self) -> String {
        format!("{}/api/v10", self.url())
    }

    /// A valid webhook, as a user would paste it (without `/v10`).
    pub fn webhook_url(&self) -> String {
        format!("{}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}", self.url())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the lasting behaviour.
    pub fn configure(&self, change: impl FnOnce(&mut Config)) {
        change(&mut self.state().config);
    }

    /// Queues faults for the next message requests.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state().faults.extend(faults);
    }

    /// The faults applied so far, by kind.
    pub fn injected(&self) -> Injected {
        self.state().injected
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// The requests received after the first `skip`, in order (cheap to poll).
    pub fn requests_since(&self, skip: usize) -> Vec<Received> {
        self.state().received.iter().skip(skip).cloned().collect()
    }

    /// Requests to message routes (webhook execute, create message), whatever the answer.
    pub fn message_requests(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|request| is_message_route(&request.path))
            .collect()
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Posted> {
        self.state().messages.clone()
    }

    /// Every embed of every accepted message, in order.
    pub fn embeds(&self) -> Vec<Value> {
        self.messages()
            .iter()
            .flat_map(|message| {
                message.body["embeds"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Waits (polling, up to `timeout`) until at least `count` embeds were accepted.
    pub fn wait_for_embeds(&self, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let embeds = self.embeds();
            if embeds.len() >= count || Instant::now() >= deadline {
                return embeds;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.address);
    }
}

fn is_message_route(path: &str) -> bool {
    path.contains("/webhooks/") || (path.contains("/channels/") && path.ends_with("/messages"))
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    })
}

/// What to do with a request.
enum Reply {
    Answer {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
    /// Close without answering.
    Hangup,
}

fn serve_connection(stream: TcpStream, state: &Arc<Mutex<State>>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(reader_stream) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_stream);
    let mut writer = stream;
    while !stop.load(Ordering::SeqCst) {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let delay = lock(state).config.delay;
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        let reply = handle(state, &request);
        match reply {
            Reply::Hangup => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Reply::Answer {
                status,
                body,
                headers,
            } => {
                let text = if status == 204 {
                    String::new()
                } else {
                    body.to_string()
                };
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
                    reason(status),
                    text.len()
                );
                if status != 204 {
                    head.push_str("Content-Type: application/json\r\n");
                }
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if writer
                    .write_all(head.as_bytes())
                    .and_then(|()| writer.write_all(text.as_bytes()))
                    .and_then(|()| writer.flush())
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn error(status: u16, code: i64, message: &str) -> Reply {
    Reply::Answer {
        status,
        body: json!({ "message": message, "code": code }),
        headers: Vec::new(),
    }
}

fn handle(state: &Mutex<State>, request: &Request) -> Reply {
    let mut state = lock(state);
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let reply = route(&mut state, request, &body);
    let status = match &reply {
        Reply::Answer { status, .. } => *status,
        Reply::Hangup => 0,
    };
    state.received.push(Received {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        headers: request.headers.clone(),
        body,
        status,
        at: Instant::now(),
        wall: SystemTime::now(),
    });
    reply
}

fn route(state: &mut State, request: &Request, body: &Value) -> Reply {
    let segments: Vec<&str> = request
        .path
        .trim_start_matches("/api/v10/")
        .split('/')
        .collect();
    if request.method == "GET" {
        return read_route(state, request, &segments);
    }
    if request.method != "POST" {
        return error(405, 0, "405: Method Not Allowed");
    }
    match segments.as_slice() {
        ["webhooks", id, token] => {
            let bucket = format!("webhook:{id}");
            let (limited, headers) = rate_limit(state, &bucket);
            if let Some(reply) = limited {
                return reply;
            }
            draw_chaos(state);
            if let Some(reply) = fault(state) {
                return with_headers(reply, headers);
            }
            if state.config.unknown_webhook || *id != WEBHOOK_ID || *token != WEBHOOK_TOKEN {
                return error(404, 10015, "Unknown Webhook");
            }
            if let Err(reply) = validate(body) {
                return with_headers(reply, headers);
            }
            let wait = request.query.split('&').any(|param| param == "wait=true");
            let message = post(state, id, body);
            if lose_response(state, true) {
                return Reply::Hangup;
            }
            if wait {
                with_headers(ok(message), headers)
            } else {
                with_headers(
                    Reply::Answer {
                        status: 204,
                        body: Value::Null,
                        headers: Vec::new(),
                    },
                    headers,
                )
            }
        }
        ["users", "@me", "channels"] => {
            if let Some(reply) = check_bot(state, request) {
                return reply;
            }
            let (limited, headers) = rate_limit(state, "dm-create");
            if let Some(reply) = limited {
                return reply;
            }
            let Some(user) = body.get("recipient_id").and_then(Value::as_str) else {
                return error(400, 50035, "Invalid Form Body");
            };
            let channel = state
                .dm_channels
                .entry(user.to_string())
                .or_insert_with(next_id)
                .clone();
            with_headers(
                ok(json!({ "id": channel, "type": 1, "recipients": [{ "id": user }] })),
                headers,
            )
        }
        ["channels", channel, "messages"] => {
            if let Some(reply) = check_bot(state, request) {
                return reply;
            }
            let bucket = format!("channel:{channel}");
            let (limited, headers) = rate_limit(state, &bucket);
            if let Some(reply) = limited {
                return reply;
            }
            draw_chaos(state);
            if let Some(reply) = fault(state) {
                return with_headers(reply, headers);
            }
            let Some(user) = state
                .dm_channels
                .iter()
                .find(|(_, id)| id.as_str() == *channel)
                .map(|(user, _)| user.clone())
            else {
                return error(404, 10003, "Unknown Channel");
            };
            if state.config.closed_dms.contains(&user) {
                return with_headers(
                    error(403, 50007, "Cannot send messages to this user"),
                    headers,
                );
            }
            if let Err(reply) = validate(body) {
                return with_headers(reply, headers);
            }
            let nonce = body.get("nonce").and_then(Value::as_str);
            let enforce = body.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
            if let (Some(nonce), true) = (nonce, enforce) {
                let existing = state.messages.iter().find(|message| {
                    message.channel == *channel
                        && message.body.get("nonce").and_then(Value::as_str) == Some(nonce)
                });
                if let Some(existing) = existing {
                    let message = message_object(existing);
                    // Discord can lose this answer too.
                    if lose_response(state, false) {
                        return Reply::Hangup;
                    }
                    return with_headers(ok(message), headers);
                }
            }
            let message = post(state, channel, body);
            if lose_response(state, true) {
                return Reply::Hangup;
            }
            with_headers(ok(message), headers)
        }
        _ => error(404, 0, "404: Not Found"),
    }
}

/// The GET routes that post nothing: "Get Webhook with Token" (no authentication), "Get
/// Current User" and "Get User" (a bot token).
fn read_route(state: &mut State, request: &Request, segments: &[&str]) -> Reply {
    match segments {
        ["webhooks", id, token] => {
            if state.config.unknown_webhook || *id != WEBHOOK_ID {
                return error(404, 10015, "Unknown Webhook");
            }
            if *token != WEBHOOK_TOKEN {
                return error(401, 50027, "Invalid Webhook Token");
            }
            // Discord returns no `user` here, and the token it was asked with.
            ok(json!({
                "id": WEBHOOK_ID,
                "type": 1,
                "guild_id": WEBHOOK_GUILD,
                "channel_id": WEBHOOK_CHANNEL,
                "name": WEBHOOK_NAME,
                "avatar": null,
                "application_id": null,
                "token": WEBHOOK_TOKEN,
            }))
        }
        ["users", "@me"] => {
            if let Some(reply) = check_bot(state, request).or_else(|| require_bot(request)) {
                return reply;
            }
            ok(json!({ "id": BOT_ID, "username": BOT_NAME, "discriminator": "0", "bot": true }))
        }
        ["users", id] => {
            if let Some(reply) = check_bot(state, request).or_else(|| require_bot(request)) {
                return reply;
            }
            if state.config.unknown_users.iter().any(|user| user == id) {
                return error(404, 10013, "Unknown User");
            }
            ok(json!({ "id": id, "username": format!("user{id}"), "discriminator": "0" }))
        }
        _ => error(404, 0, "404: Not Found"),
    }
}

/// A bot route asked without any `Authorization: Bot ...` header: 401, as Discord answers.
fn require_bot(request: &Request) -> Option<Reply> {
    let given = request
        .headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str());
    match given {
        Some(value) if value.starts_with("Bot ") && value.len() > 4 => None,
        _ => Some(error(401, 0, "401: Unauthorized")),
    }
}

fn ok(body: Value) -> Reply {
    Reply::Answer {
        status: 200,
        body,
        headers: Vec::new(),
    }
}

fn with_headers(reply: Reply, extra: Vec<(String, String)>) -> Reply {
    match reply {
        Reply::Answer {
            status,
            body,
            mut headers,
        } => {
            headers.extend(extra);
            Reply::Answer {
                status,
                body,
                headers,
            }
        }
        Reply::Hangup => Reply::Hangup,
    }
}

fn check_bot(state: &State, request: &Request) -> Option<Reply> {
    let expected = state.config.bot_token.as_ref()?;
    let given = request
        .headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str());
    if given == Some(format!("Bot {expected}").as_str()) {
        None
    } else {
        Some(error(401, 0, "401: Unauthorized"))
    }
}

/// SplitMix64: small, seedable, good enough to spread faults.
fn next_random(state: &mut State, seed: u64) -> u64 {
    let value = state.rng.get_or_insert(seed);
    *value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut mixed = *value;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

/// With `Config::chaos` and no queued fault, draws this request's fault (or none) and queues it.
fn draw_chaos(state: &mut State) {
    let Some(chaos) = state.config.chaos else {
        return;
    };
    if !state.faults.is_empty() {
        return;
    }
    let draw = next_random(state, chaos.seed);
    // 53 random bits as a fraction in [0, 1).
    let roll = (draw >> 11) as f64 / (1u64 << 53) as f64;
    let fault = if roll < chaos.server_error {
        Fault::Status(if draw & 1 == 0 { 500 } else { 502 })
    } else if roll < chaos.server_error + chaos.drop {
        Fault::Drop
    } else if roll < chaos.server_error + chaos.drop + chaos.lose_response {
        Fault::LoseResponse
    } else {
        return;
    };
    state.faults.push_back(fault);
}

/// Applies a queued LoseResponse after the message was created (`created`) or found by its
/// nonce: true to hang up.
fn lose_response(state: &mut State, created: bool) -> bool {
    if let Some(Fault::LoseResponse) = state.faults.front() {
        state.faults.pop_front();
        state.injected.lost_responses += 1;
        if created {
            if let Some(message) = state.messages.last_mut() {
                message.answer_lost = true;
            }
        }
        return true;
    }
    false
}

/// The next queued fault that applies before the message is created (all but LoseResponse,
/// which `route` applies after creating it).
fn fault(state: &mut State) -> Option<Reply> {
    match state.faults.front()? {
        Fault::LoseResponse => None,
        _ => match state.faults.pop_front()? {
            Fault::Status(status) => {
                state.injected.server_errors += 1;
                Some(error(status, 0, &format!("{status}: {}", reason(status))))
            }
            Fault::Drop => {
                state.injected.dropped += 1;
                Some(Reply::Hangup)
            }
            Fault::RateLimited {
                retry_after,
                global,
            } => {
                state.injected.rate_limited += 1;
                let mut headers = vec![("Retry-After".into(), retry_after.ceil().to_string())];
                if global {
                    headers.push(("X-RateLimit-Global".into(), "true".into()));
                    headers.push(("X-RateLimit-Scope".into(), "global".into()));
                } else {
                    headers.push(("X-RateLimit-Scope".into(), "user".into()));
                }
                Some(Reply::Answer {
                    status: 429,
                    body: json!({
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": global,
                    }),
                    headers,
                })
            }
            Fault::LoseResponse => None,
        },
    }
}

/// Counts the request in its bucket's window: a 429 when over the limit, else the headers.
fn rate_limit(state: &mut State, bucket: &str) -> (Option<Reply>, Vec<(String, String)>) {
    let Some(limit) = state.config.rate_limit else {
        return (None, Vec::new());
    };
    let now = Instant::now();
    let window = state.windows.entry(bucket.to_string()).or_insert((now, 0));
    if now.duration_since(window.0) >= limit.window {
        *window = (now, 0);
    }
    let reset_after = limit.window.saturating_sub(now.duration_since(window.0));
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + reset_after;
    let bucket_hash = format!(
        "{:x}",
        bucket.bytes().fold(7u64, |h, b| h * 31 + u64::from(b))
    );
    if window.1 >= limit.requests {
        let retry_after = reset_after.as_secs_f64();
        let headers = vec![
            ("X-RateLimit-Limit".into(), limit.requests.to_string()),
            ("X-RateLimit-Remaining".into(), "0".into()),
            (
                "X-RateLimit-Reset".into(),
                format!("{:.3}", epoch.as_secs_f64()),
            ),
            (
                "X-RateLimit-Reset-After".into(),
                format!("{retry_after:.3}"),
            ),
            ("X-RateLimit-Bucket".into(), bucket_hash),
            ("X-RateLimit-Scope".into(), "user".into()),
            ("Retry-After".into(), retry_after.ceil().to_string()),
        ];
        let reply = Reply::Answer {
            status: 429,
            body: json!({
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": false,
            }),
            headers,
        };
        return (Some(reply), Vec::new());
    }
    window.1 += 1;
    let headers = vec![
        ("X-RateLimit-Limit".into(), limit.requests.to_string()),
        (
            "X-RateLimit-Remaining".into(),
            (limit.requests - window.1).to_string(),
        ),
        (
            "X-RateLimit-Reset".into(),
            format!("{:.3}", epoch.as_secs_f64()),
        ),
        (
            "X-RateLimit-Reset-After".into(),
            format!("{:.3}", reset_after.as_secs_f64()),
        ),
        ("X-RateLimit-Bucket".into(), bucket_hash),
    ];
    (None, headers)
}

fn post(state: &mut State, channel: &str, body: &Value) -> Value {
    let posted = Posted {
        id: next_id(),
        channel: channel.to_string(),
        body: body.clone(),
        at: Instant::now(),
        wall: SystemTime::now(),
        answer_lost: false,
    };
    let message = message_object(&posted);
    state.messages.push(posted);
    message
}

fn message_object(posted: &Posted) -> Value {
    json!({
        "id": posted.id,
        "channel_id": posted.channel,
        "content": posted.body.get("content").cloned().unwrap_or(json!("")),
        "embeds": posted.body.get("embeds").cloned().unwrap_or(json!([])),
        "nonce": posted.body.get("nonce").cloned().unwrap_or(Value::Null),
    })
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

/// Discord's limits on a message; `Err` is its 400 answer.
pub fn check_limits(body: &Value) -> Result<(), String> {
    let content = chars(&body["content"]);
    if content > 2000 {
        return Err(format!("content is {content} characters, over 2000"));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if content == 0 && embeds.is_empty() {
        return Err("Cannot send an empty message".into());
    }
    if embeds.len() > 10 {
        return Err(format!("{} embeds, over 10", embeds.len()));
    }
    if let Some(nonce) = body.get("nonce").and_then(Value::as_str) {
        if nonce.chars().count() > 25 {
            return Err("nonce over 25 characters".into());
        }
    }
    let mut total = 0;
    for (index, embed) in embeds.iter().enumerate() {
        let title = chars(&embed["title"]);
        let description = chars(&embed["description"]);
        let footer = chars(&embed["footer"]["text"]);
        if title > 256 || description > 4096 || footer > 2048 {
            return Err(format!(
                "embed {index}: title {title}, description {description}, footer {footer}"
            ));
        }
        if embed.get("footer").is_some() && footer == 0 {
            return Err(format!("embed {index}: empty footer text"));
        }
        if title == 0 && description == 0 && embed["fields"].as_array().is_none_or(Vec::is_empty) {
            return Err(format!("embed {index}: nothing to show"));
        }
        if let Some(url) = embed.get("url") {
            check_url(url).map_err(|why| format!("embed {index}: url: {why}"))?;
        }
        if let Some(color) = embed.get("color") {
            if color.as_u64().is_none_or(|color| color > 0xFF_FFFF) {
                return Err(format!("embed {index}: color {color} is not 0 to 16777215"));
            }
        }
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err(format!("embed {index}: {} fields, over 25", fields.len()));
        }
        total += title + description + footer;
        for field in &fields {
            let name = chars(&field["name"]);
            let value = chars(&field["value"]);
            let blank = |value: &Value| value.as_str().is_none_or(|text| text.trim().is_empty());
            if blank(&field["name"]) || blank(&field["value"]) {
                return Err(format!("embed {index}: a field name or value is empty"));
            }
            if name > 256 || value > 1024 {
                return Err(format!("embed {index}: field name {name}, value {value}"));
            }
            total += name + value;
        }
    }
    if total > 6000 {
        return Err(format!("embeds total {total} characters, over 6000"));
    }
    Ok(())
}

/// Discord's checks on an embed's `url`: "Not a well formed URL" or "Scheme must be one of
/// ('http', 'https')".
fn check_url(url: &Value) -> Result<(), String> {
    let Some(url) = url.as_str() else {
        return Err("not a string".into());
    };
    if url.chars().count() > 2048 {
        return Err("Must be 2048 or fewer in length.".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("Not a well formed URL.".into());
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("Scheme must be one of ('http', 'https').".into());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("Not a well formed URL.".into());
    }
    Ok(())
}

fn validate(body: &Value) -> Result<(), Reply> {
    check_limits(body).map_err(|why| Reply::Answer {
        status: 400,
        body: json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": { "embeds": { "_errors": [{ "code": "BASE_TYPE_MAX_LENGTH", "message": why }] } },
        }),
        headers: Vec::new(),
    })
}
