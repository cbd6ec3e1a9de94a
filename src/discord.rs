//! Everything Discord-facing: `render` turns events into the messages of EMBEDS.md with every
//! Discord limit enforced, and `Sink` sends them by channel webhook or bot direct message,
//! honouring rate limits and classifying each outcome as a typed `Outcome` the consumer
//! branches on. Nothing here touches the store or the sources.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::event::{self, Event};

/// The base of bot requests when `--discord-api` is not given.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";

/// Discord's documented limits on a message and its embeds.
pub mod limits {
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    /// Title, description, field names and values and footer of every embed in a message.
    pub const TOTAL: usize = 6000;
    pub const EMBEDS: usize = 10;
    pub const CONTENT: usize = 2000;
    /// `nonce` on create message.
    pub const NONCE: usize = 25;
}

const RED: u32 = 0xFF0000;
const GREEN: u32 = 0x00FF00;
const BLURPLE: u32 = 0x5865F2;
const BACKUP_FOOTER: &str = "d0ce3|tools • Backup Monitor";
/// Shown instead of an empty field name or value, which Discord rejects.
const EMPTY: &str = "—";
const ELLIPSIS: char = '…';

/// The language of the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// The original system's messages.
    #[default]
    Es,
    En,
}

/// How events become messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub lang: Lang,
    /// Put `<@user_id>` in the content so the people concerned are pinged (webhook delivery:
    /// mentions inside embeds notify nobody).
    pub mention: bool,
}

/// One embed. Field order is Discord's; absent parts are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embed {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub color: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Footer {
    pub text: String,
}

impl Embed {
    /// The characters this embed counts towards a message's 6,000.
    pub fn size(&self) -> usize {
        count(&self.title)
            + self.description.as_deref().map_or(0, count)
            + self
                .fields
                .iter()
                .map(|field| count(&field.name) + count(&field.value))
                .sum::<usize>()
            + self.footer.as_ref().map_or(0, |footer| count(&footer.text))
    }

    /// Cuts every part to its own limit and never leaves an empty name or value.
    fn enforce_part_limits(&mut self) {
        self.title = cut(non_empty(&self.title), limits::TITLE);
        if let Some(description) = &mut self.description {
            *description = cut_description(description, limits::DESCRIPTION);
        }
        self.description = self.description.take().filter(|text| !text.is_empty());
        self.fields.truncate(limits::FIELDS);
        for field in &mut self.fields {
            field.name = cut(non_empty(&field.name), limits::FIELD_NAME);
            field.value = cut(non_empty(&field.value), limits::FIELD_VALUE);
        }
        if let Some(footer) = &mut self.footer {
            footer.text = cut(&footer.text, limits::FOOTER);
        }
        self.footer = self
            .footer
            .take()
            .filter(|footer| !footer.text.trim().is_empty());
    }

    /// Shortens the longest texts until the embed counts at most `budget` characters.
    fn shrink_to(&mut self, budget: usize) {
        // Each round cuts the longest text by the excess (or to a few characters), so this
        // ends after at most one round per text.
        for _ in 0..=(limits::FIELDS * 2 + 3) {
            let size = self.size();
            if size <= budget {
                return;
            }
            let excess = size - budget;
            let mut texts: Vec<&mut String> = Vec::new();
            if let Some(description) = &mut self.description {
                texts.push(description);
            }
            for field in &mut self.fields {
                texts.push(&mut field.value);
                texts.push(&mut field.name);
            }
            if let Some(footer) = &mut self.footer {
                texts.push(&mut footer.text);
            }
            texts.push(&mut self.title);
            let Some(longest) = texts.into_iter().max_by_key(|text| count(text)) else {
                return;
            };
            let length = count(longest);
            if length <= 1 {
                // Nothing left to cut: drop fields from the end instead.
                if self.fields.pop().is_none() {
                    return;
                }
                continue;
            }
            let keep = length.saturating_sub(excess).max(1);
            *longest = cut_description(longest, keep);
        }
    }
}

/// Characters as Discord counts them for its limits (Unicode code points).
pub fn count(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to at most `max` characters, ending with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if count(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push(ELLIPSIS);
    out
}

/// Like `cut`, but a text that is one code block stays a closed code block.
fn cut_description(text: &str, max: usize) -> String {
    const OPEN: &str = "```\n";
    const CLOSE: &str = "\n```";
    if count(text) <= max {
        return text.to_string();
    }
    match text
        .strip_prefix(OPEN)
        .and_then(|inner| inner.strip_suffix(CLOSE))
    {
        Some(inner) if max > OPEN.len() + CLOSE.len() + 1 => {
            format!(
                "{OPEN}{}{CLOSE}",
                cut(inner, max - OPEN.len() - CLOSE.len())
            )
        }
        _ => cut(text, max),
    }
}

fn non_empty(text: &str) -> &str {
    if text.trim().is_empty() {
        EMPTY
    } else {
        text
    }
}

/// A payload value as text: strings as they are, anything else as compact JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A payload string, treating null, absent and empty as absent.
fn string_field(payload: &Map<String, Value>, key: &str) -> Option<String> {
    match payload.get(key) {
        None | Some(Value::Null) => None,
        Some(value) => Some(text_of(value)).filter(|text| !text.trim().is_empty()),
    }
}

/// A number formatted with `decimals`, or the value as given when it is not a number.
fn number_text(value: Option<&Value>, decimals: usize) -> Option<String> {
    let value = value.filter(|value| !value.is_null())?;
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    Some(match number.filter(|number| number.is_finite()) {
        Some(number) => format!("{number:.decimals$}"),
        None => text_of(value),
    })
}

/// A code block cannot hold three backticks in a row; a zero-width space keeps them apart.
fn code_block(text: &str) -> String {
    format!("```\n{}\n```", text.replace("```", "`\u{200b}``"))
}

fn inline(name: &str, value: impl Into<String>) -> Field {
    Field {
        name: name.into(),
        value: value.into(),
        inline: true,
    }
}

/// "some_key" → "Some Key", as the original titled detail keys.
fn title_case(key: &str) -> String {
    key.replace('_', " ")
        .split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Words {
    unknown: &'static str,
    unknown_error: &'static str,
    compression: &'static str,
    upload: &'static str,
    backup_failed: &'static str,
    backup_done: &'static str,
    minecraft: &'static str,
    kind: &'static str,
    file: &'static str,
    size: &'static str,
    duration: &'static str,
    players: &'static str,
}

const SPANISH: Words = Words {
    unknown: "Desconocido",
    unknown_error: "Error desconocido",
    compression: "📦 Error en Compresión de Backup",
    upload: "☁️ Error en Subida a MEGA",
    backup_failed: "❌ Error en Backup",
    backup_done: "✅ Backup Completado",
    minecraft: "Servidor Minecraft",
    kind: "Tipo",
    file: "Archivo",
    size: "Tamaño",
    duration: "Duración",
    players: "Jugadores",
};

const ENGLISH: Words = Words {
    unknown: "Unknown",
    unknown_error: "Unknown error",
    compression: "📦 Backup compression failed",
    upload: "☁️ Upload to MEGA failed",
    backup_failed: "❌ Backup failed",
    backup_done: "✅ Backup completed",
    minecraft: "Minecraft server",
    kind: "Type",
    file: "File",
    size: "Size",
    duration: "Duration",
    players: "Players",
};

/// The embed of one event, each part within its own limit and the whole within 6,000
/// characters.
pub fn embed(event: &Event, lang: Lang) -> Embed {
    let words = match lang {
        Lang::Es => &SPANISH,
        Lang::En => &ENGLISH,
    };
    let payload = &event.payload;
    let codespace = string_field(payload, "codespace_name");
    let codespace_or_unknown = codespace.clone().unwrap_or_else(|| words.unknown.into());
    let timestamp = event
        .created_utc()
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true));
    let backup_footer = Some(Footer {
        text: BACKUP_FOOTER.into(),
    });
    let mut embed = match event.event_type.as_str() {
        event::BACKUP_ERROR => {
            let error_type =
                string_field(payload, "error_type").unwrap_or_else(|| "general".into());
            let title = if error_type.contains("compression") {
                words.compression
            } else if error_type.contains("upload") {
                words.upload
            } else {
                words.backup_failed
            };
            let message = string_field(payload, "error_message")
                .unwrap_or_else(|| words.unknown_error.into());
            let mut fields = vec![
                inline("Codespace", codespace_or_unknown),
                inline(words.kind, error_type),
            ];
            if let Some(file) = string_field(payload, "backup_file") {
                fields.push(inline(words.file, file));
            }
            Embed {
                title: title.into(),
                description: Some(code_block(&message)),
                color: RED,
                fields,
                footer: backup_footer,
                timestamp,
            }
        }
        event::BACKUP_SUCCESS => {
            let file = string_field(payload, "backup_file")
                .map_or_else(|| words.unknown.to_string(), |file| format!("`{file}`"));
            let size = number_text(payload.get("size_mb"), 2)
                .map_or_else(|| words.unknown.to_string(), |size| format!("{size} MB"));
            let duration = number_text(payload.get("duration_seconds"), 1).map_or_else(
                || words.unknown.to_string(),
                |seconds| format!("{seconds}s"),
            );
            Embed {
                title: words.backup_done.into(),
                description: None,
                color: GREEN,
                fields: vec![
                    Field {
                        name: words.file.into(),
                        value: file,
                        inline: false,
                    },
                    inline(words.size, size),
                    inline(words.duration, duration),
                    inline("Codespace", codespace_or_unknown),
                ],
                footer: backup_footer,
                timestamp,
            }
        }
        event::MINECRAFT_STATUS => {
            let status = string_field(payload, "status").unwrap_or_else(|| "unknown".into());
            let emoji = match status.as_str() {
                "online" => "✅",
                "offline" => "❌",
                "starting" => "🔄",
                "stopping" => "⏹️",
                _ => "❓",
            };
            let mut fields = Vec::new();
            if let Some(ip) = string_field(payload, "ip") {
                let port = string_field(payload, "port");
                let address = match port.as_deref() {
                    None | Some("25565") => ip,
                    Some(port) => format!("{ip}:{port}"),
                };
                fields.push(inline("IP", format!("`{address}`")));
            }
            if status == "online" {
                let players = string_field(payload, "players_online").unwrap_or_else(|| "0".into());
                fields.push(inline(words.players, players));
            }
            Embed {
                title: format!("{emoji} {} - {}", words.minecraft, status.to_uppercase()),
                description: None,
                color: if status == "online" { GREEN } else { RED },
                fields,
                footer: None,
                timestamp,
            }
        }
        event::CODESPACE_STATUS => {
            let action = string_field(payload, "action").unwrap_or_else(|| "unknown".into());
            let emoji = match action.as_str() {
                "started" => "▶️",
                "stopped" => "⏹️",
                "error" => "❌",
                _ => "🔔",
            };
            let fields = match payload.get("details") {
                Some(Value::Object(details)) => details
                    .iter()
                    .map(|(key, value)| inline(&title_case(key), text_of(value)))
                    .collect(),
                _ => Vec::new(),
            };
            Embed {
                title: format!("{emoji} Codespace {}", action.to_uppercase()),
                description: Some(format!("**{codespace_or_unknown}**")),
                color: if action == "started" { GREEN } else { RED },
                fields,
                footer: None,
                timestamp,
            }
        }
        other => Embed {
            title: format!("🔔 {other}"),
            description: None,
            color: BLURPLE,
            fields: payload
                .iter()
                .filter(|(key, _)| *key != "codespace_name" && *key != "timestamp")
                .take(limits::FIELDS)
                .map(|(key, value)| inline(key, text_of(value)))
                .collect(),
            footer: codespace.map(|text| Footer { text }),
            timestamp,
        },
    };
    embed.enforce_part_limits();
    embed.shrink_to(limits::TOTAL);
    embed
}

/// The JSON body of one message carrying `events` (at most 10: the rest are left out, so
/// callers group with `plan`). Every limit holds whatever the events contain.
pub fn render(events: &[Event], options: &RenderOptions) -> Value {
    let events = &events[..events.len().min(limits::EMBEDS)];
    let mut embeds: Vec<Embed> = events
        .iter()
        .map(|event| embed(event, options.lang))
        .collect();
    let total: usize = embeds.iter().map(Embed::size).sum();
    if total > limits::TOTAL {
        // Only reached when a caller put too much in one message: share the budget evenly.
        let budget = limits::TOTAL / embeds.len().max(1);
        for embed in &mut embeds {
            embed.shrink_to(budget);
        }
    }
    let mut body = Map::new();
    if options.mention {
        let mut users: Vec<&str> = Vec::new();
        for event in events {
            let user = event.user_id.trim();
            // Only snowflakes: anything else in content could ping the wrong people.
            if !user.is_empty()
                && user.len() <= 20
                && user.bytes().all(|byte| byte.is_ascii_digit())
                && !users.contains(&user)
            {
                users.push(user);
            }
        }
        if !users.is_empty() {
            let content: Vec<String> = users.iter().map(|user| format!("<@{user}>")).collect();
            body.insert(
                "content".into(),
                json!(cut(&content.join(" "), limits::CONTENT)),
            );
            body.insert(
                "allowed_mentions".into(),
                json!({ "parse": [], "users": users }),
            );
        }
    }
    body.insert("embeds".into(), json!(embeds));
    Value::Object(body)
}

/// Events grouped into messages: consecutive events share a channel message while it has
/// room (10 embeds, 6,000 characters). A direct message (`by_user`) carries one event: its
/// nonce must be a function of that event alone, because an event whose send failed after
/// Discord took it can come back next to other events, and a nonce over the new group would
/// not match the first one, so Discord would post the event again.
pub fn plan(events: Vec<Event>, by_user: bool, lang: Lang) -> Vec<Vec<Event>> {
    if by_user {
        return events.into_iter().map(|event| vec![event]).collect();
    }
    let mut groups: Vec<(usize, Vec<Event>)> = Vec::new();
    for event in events {
        let size = embed(&event, lang).size();
        match groups.last_mut() {
            Some((total, group))
                if group.len() < limits::EMBEDS && *total + size <= limits::TOTAL =>
            {
                *total += size;
                group.push(event);
            }
            _ => groups.push((size, vec![event])),
        }
    }
    groups.into_iter().map(|(_, events)| events).collect()
}

/// A stable 64-bit hash (FNV-1a): nonces must not change across restarts or Rust versions.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The `nonce` of the message carrying `ids` from `source`: the same on every retry and
/// after a restart, different for any other set of events, at most 25 characters.
pub fn nonce(source: &str, ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let hash = fnv1a(&[source.as_bytes(), ids.join(",").as_bytes()]);
    format!("dq{hash:016x}")
}

// ---------------------------------------------------------------------------------------------
// Sending

/// How Discord answered one message, as the consumer branches on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx: Discord has the message.
    Delivered { message_id: Option<String> },
    /// 429: wait `retry_after` and send again; this is no attempt.
    RateLimited { retry_after: Duration, global: bool },
    /// 5xx, a timeout, a dropped connection: worth trying again.
    Retryable { reason: String },
    /// Any other 4xx: trying again cannot help. `code` and `message` are Discord's.
    Permanent {
        status: u16,
        code: Option<i64>,
        message: String,
    },
}

impl Outcome {
    /// The text stored as the event's error.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Delivered { .. } => "delivered".into(),
            Outcome::RateLimited { retry_after, .. } => {
                format!("rate limited for {:.3}s", retry_after.as_secs_f64())
            }
            Outcome::Retryable { reason } => reason.clone(),
            Outcome::Permanent {
                status,
                code: Some(code),
                message,
            } => format!("discord {status} (code {code}): {message}"),
            Outcome::Permanent {
                status, message, ..
            } => format!("discord {status}: {message}"),
        }
    }
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimitHeaders {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    pub reset_after: Option<Duration>,
    pub bucket: Option<String>,
    pub global: bool,
    pub scope: Option<String>,
}

/// One answer from Discord: the outcome, its rate-limit headers and, when delivered, the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: Outcome,
    pub headers: RateLimitHeaders,
    pub body: Value,
}

fn seconds(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(|seconds| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// Classifies a status and body the way Discord documents them.
pub fn classify(status: u16, headers: RateLimitHeaders, text: &str) -> Answer {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = text.trim();
            if text.is_empty() {
                format!("HTTP {status}")
            } else {
                cut(&text.replace(['\n', '\r'], " "), 200)
            }
        });
    let outcome = match status {
        200..=299 => Outcome::Delivered {
            message_id: body.get("id").and_then(Value::as_str).map(str::to_string),
        },
        429 => {
            let retry_after = body
                .get("retry_after")
                .and_then(Value::as_f64)
                .and_then(|value| seconds(&value.to_string()))
                .or(headers.reset_after)
                .unwrap_or(Duration::from_secs(1));
            let global =
                headers.global || body.get("global").and_then(Value::as_bool).unwrap_or(false);
            Outcome::RateLimited {
                retry_after,
                global,
            }
        }
        500..=599 => Outcome::Retryable {
            reason: format!("discord {status}: {message}"),
        },
        // 408 and other non-4xx oddities (3xx without a redirect) are worth another try.
        408 | 0..=199 | 300..=399 => Outcome::Retryable {
            reason: format!("discord answered HTTP {status}"),
        },
        _ => Outcome::Permanent {
            status,
            code: body.get("code").and_then(Value::as_i64),
            message,
        },
    };
    Answer {
        outcome,
        headers,
        body,
    }
}

fn read_headers(response: &ureq::http::Response<ureq::Body>) -> RateLimitHeaders {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    RateLimitHeaders {
        limit: header("x-ratelimit-limit").and_then(|text| text.trim().parse().ok()),
        remaining: header("x-ratelimit-remaining").and_then(|text| text.trim().parse().ok()),
        reset_after: header("x-ratelimit-reset-after")
            .and_then(|text| seconds(&text))
            .or_else(|| header("retry-after").and_then(|text| seconds(&text))),
        bucket: header("x-ratelimit-bucket"),
        global: header("x-ratelimit-global").is_some_and(|text| text.eq_ignore_ascii_case("true")),
        scope: header("x-ratelimit-scope"),
    }
}

/// Sends one JSON request and classifies the answer. Network errors are `Retryable`.
pub fn send(agent: &ureq::Agent, url: &str, authorization: Option<&str>, body: &Value) -> Answer {
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let payload = body.to_string();
    match request.send(payload.as_bytes()) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let headers = read_headers(&response);
            let mut text = String::new();
            let read = response
                .body_mut()
                .with_config()
                .limit(1024 * 1024)
                .reader()
                .read_to_string(&mut text);
            if let Err(error) = read {
                if (200..300).contains(&status) {
                    // Discord took the message; only its echo was lost.
                    return Answer {
                        outcome: Outcome::Delivered { message_id: None },
                        headers,
                        body: Value::Null,
                    };
                }
                return Answer {
                    outcome: Outcome::Retryable {
                        reason: format!("reading discord's answer: {error}"),
                    },
                    headers,
                    body: Value::Null,
                };
            }
            classify(status, headers, &text)
        }
        Err(error) => Answer {
            outcome: Outcome::Retryable {
                reason: network_reason(&error),
            },
            headers: RateLimitHeaders::default(),
            body: Value::Null,
        },
    }
}

fn network_reason(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => "discord did not answer in time".into(),
        ureq::Error::HostNotFound => "discord's host was not found (DNS)".into(),
        ureq::Error::ConnectionFailed => "could not connect to discord".into(),
        ureq::Error::Io(io) => format!("connection to discord failed: {io}"),
        // Its text would carry the URL, and a webhook URL carries its token.
        ureq::Error::BadUri(_) => "the Discord URL is not valid".into(),
        other => format!("request to discord failed: {other}"),
    }
}

/// The HTTP agent for Discord: statuses are answers to classify, not errors.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(format!(
            "DiscordBot (https://github.com/dq, {})",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .into()
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// What Discord's headers say about the buckets, so requests wait *before* a limit is hit.
/// Routes map to buckets (`X-RateLimit-Bucket`); a bucket with nothing remaining is closed
/// until its reset; a global 429 closes everything.
#[derive(Debug, Default)]
pub struct RateLimits {
    route_bucket: HashMap<String, String>,
    buckets: HashMap<String, Bucket>,
    global_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u32,
    reset_at: Instant,
}

/// Sent slightly after a reset, so a clock a few milliseconds off does not earn a 429.
const RESET_MARGIN: Duration = Duration::from_millis(40);

impl RateLimits {
    /// How long to wait before a request on `route` may go out; zero when it may go now.
    pub fn wait_before(&self, route: &str, now: Instant) -> Duration {
        let mut until = self.global_until.filter(|until| *until > now);
        let bucket = self.route_bucket.get(route).map_or(route, String::as_str);
        if let Some(bucket) = self.buckets.get(bucket) {
            if bucket.remaining == 0 && bucket.reset_at > now {
                until = until.max(Some(bucket.reset_at));
            }
        }
        until.map_or(Duration::ZERO, |until| until.duration_since(now))
    }

    /// Learns from the headers (and the outcome) of a response on `route`.
    pub fn update(&mut self, route: &str, answer: &Answer, now: Instant) {
        let headers = &answer.headers;
        let bucket = match &headers.bucket {
            Some(bucket) => {
                self.route_bucket.insert(route.into(), bucket.clone());
                bucket.clone()
            }
            None => self
                .route_bucket
                .get(route)
                .cloned()
                .unwrap_or_else(|| route.into()),
        };
        if let Outcome::RateLimited {
            retry_after,
            global,
        } = &answer.outcome
        {
            let until = now + *retry_after + RESET_MARGIN;
            if *global {
                self.global_until = Some(self.global_until.map_or(until, |old| old.max(until)));
            } else {
                self.buckets.insert(
                    bucket,
                    Bucket {
                        remaining: 0,
                        reset_at: until,
                    },
                );
            }
            return;
        }
        if let (Some(remaining), Some(reset_after)) = (headers.remaining, headers.reset_after) {
            self.buckets.insert(
                bucket,
                Bucket {
                    remaining,
                    reset_at: now + reset_after + RESET_MARGIN,
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sinks

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A channel webhook; the URL already ends in `?wait=true`.
    Webhook { url: String },
    /// Direct messages from a bot, to each event's `user_id`.
    Bot { token: String, api: String },
}

/// Turns a webhook URL as users paste it into the URL dq posts to: `discordapp.com` becomes
/// `discord.com`, `/api/webhooks/` gains `/v10`, and `wait=true` is always asked for. With an
/// `api` base other than Discord's, the webhook's id and token are posted there instead.
pub fn webhook_url(pasted: &str, api: &str) -> Result<String> {
    let pasted = pasted.trim();
    let (without_query, query) = pasted.split_once('?').unwrap_or((pasted, ""));
    let Some((_, rest)) = without_query.split_once("/webhooks/") else {
        bail!("the webhook URL has no /webhooks/ID/TOKEN part");
    };
    let mut parts = rest.trim_end_matches('/').split('/');
    let (Some(id), Some(token)) = (parts.next(), parts.next()) else {
        bail!("the webhook URL has no /webhooks/ID/TOKEN part");
    };
    if id.is_empty() || token.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
        bail!("the webhook URL has no /webhooks/ID/TOKEN part");
    }
    if !(pasted.starts_with("https://") || pasted.starts_with("http://")) {
        bail!("the webhook URL must start with https://");
    }
    let base = if api.trim_end_matches('/') != DEFAULT_API_BASE {
        format!("{}/webhooks/{id}/{token}", api.trim_end_matches('/'))
    } else {
        without_query
            .trim_end_matches('/')
            .replacen("://discordapp.com/", "://discord.com/", 1)
            .replacen("://www.discordapp.com/", "://discord.com/", 1)
            .replacen("/api/webhooks/", "/api/v10/webhooks/", 1)
    };
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|param| !param.is_empty() && !param.starts_with("wait="))
        .collect();
    params.push("wait=true");
    Ok(format!("{base}?{}", params.join("&")))
}

/// The retries in place of a message that met a 5xx, a timeout or a dropped connection.
#[derive(Debug, Clone)]
pub struct RetryPlan {
    /// Waits before each new try; when they run out the failure is reported.
    pub delays: Vec<Duration>,
    /// No retry starts after this (the marks must land within the events' lease).
    pub deadline: Instant,
    /// No send at all starts after this, nor a rate-limit wait that would end after it: once
    /// the lease is over another consumer may hold the events, and sending them would
    /// deliver them twice.
    pub lease_end: Instant,
}

impl RetryPlan {
    /// About 0.5, 1, 2, 4, 8 s.
    pub fn standard(deadline: Instant, lease_end: Instant) -> RetryPlan {
        RetryPlan {
            delays: [500, 1000, 2000, 4000, 8000]
                .into_iter()
                .map(Duration::from_millis)
                .collect(),
            deadline,
            lease_end,
        }
    }
}

/// What delivering one message took.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `RateLimited` only when stopped while waiting it out.
    pub outcome: Outcome,
    /// Tries after the first that met a retryable failure.
    pub retries: u32,
    /// 429 answers seen on the way.
    pub rate_limited: u32,
    /// Not sent, by a shutdown or because the lease would end first: nothing should be marked.
    pub interrupted: bool,
}

/// The one place that sends to Discord: callers share it behind a lock, so no two requests
/// for one bucket are ever in flight at once.
pub struct Sink {
    agent: ureq::Agent,
    target: Target,
    limits: RateLimits,
    dm_channels: HashMap<String, String>,
    stop: Arc<AtomicBool>,
    /// Consecutive messages that failed; drives `pause_until`.
    failing: u32,
    paused_until: Option<Instant>,
}

impl Sink {
    pub fn new(target: Target, timeout: Duration, stop: Arc<AtomicBool>) -> Sink {
        Sink {
            agent: agent(timeout),
            target,
            limits: RateLimits::default(),
            dm_channels: HashMap::new(),
            stop,
            failing: 0,
            paused_until: None,
        }
    }

    /// Whether messages go to each user's DMs (so events group by user).
    pub fn by_user(&self) -> bool {
        matches!(self.target, Target::Bot { .. })
    }

    /// While the sink keeps failing, sources stop claiming for it until this time.
    pub fn paused_until(&self) -> Option<Instant> {
        self.paused_until.filter(|until| *until > Instant::now())
    }

    /// Sends one message carrying `events`, waiting out rate limits (no attempt) and retrying
    /// retryable failures in place per `plan`.
    pub fn deliver(
        &mut self,
        body: &Value,
        user_id: &str,
        nonce: &str,
        plan: &RetryPlan,
    ) -> Delivery {
        let mut delivery = Delivery {
            outcome: Outcome::Retryable {
                reason: "not sent".into(),
            },
            retries: 0,
            rate_limited: 0,
            interrupted: false,
        };
        let mut delays = plan.delays.iter();
        loop {
            let stopping =
                self.stop.load(Ordering::Relaxed) && delivery.retries + delivery.rate_limited > 0;
            if stopping || Instant::now() >= plan.lease_end {
                delivery.interrupted = true;
                return delivery;
            }
            let answer = match self.request(body, user_id, nonce) {
                Ok(answer) => answer,
                Err(interrupted) => {
                    delivery.outcome = interrupted;
                    delivery.interrupted = true;
                    return delivery;
                }
            };
            match &answer.outcome {
                Outcome::RateLimited { retry_after, .. } => {
                    delivery.rate_limited += 1;
                    if Instant::now() + *retry_after >= plan.lease_end {
                        delivery.outcome = answer.outcome;
                        delivery.interrupted = true;
                        return delivery;
                    }
                    // The limits now say how long to wait; the next request waits it out.
                    continue;
                }
                Outcome::Retryable { .. } => {
                    let next = delays.next();
                    match next {
                        Some(delay) if Instant::now() + *delay < plan.deadline => {
                            delivery.retries += 1;
                            if !self.sleep(*delay) {
                                delivery.outcome = answer.outcome;
                                delivery.interrupted = true;
                                return delivery;
                            }
                            continue;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            self.record(&answer.outcome);
            delivery.outcome = answer.outcome;
            return delivery;
        }
    }

    fn record(&mut self, outcome: &Outcome) {
        let sink_failure = match outcome {
            Outcome::Delivered { .. } => false,
            Outcome::Retryable { .. } => true,
            // A webhook that is gone or a token that is wrong fails every message alike:
            // Discord restricts clients that keep using them.
            Outcome::Permanent { status, .. } => {
                *status == 401 || (*status == 404 && matches!(self.target, Target::Webhook { .. }))
            }
            Outcome::RateLimited { .. } => false,
        };
        if !sink_failure {
            self.failing = 0;
            self.paused_until = None;
            return;
        }
        self.failing = self.failing.saturating_add(1);
        let pause = match outcome {
            // 10 minutes, doubling up to 6 hours: a fixed URL or token needs a restart anyway.
            Outcome::Permanent { .. } => Duration::from_secs(600)
                .saturating_mul(1 << self.failing.saturating_sub(1).min(5))
                .min(Duration::from_secs(6 * 3600)),
            _ => Duration::from_secs(1u64 << self.failing.min(8)).min(Duration::from_secs(300)),
        };
        self.paused_until = Some(Instant::now() + pause);
    }

    /// Sleeps in small steps; false when a shutdown was asked for meanwhile.
    fn sleep(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    /// One request for the message, after the rate limits allow it. `Err` is a shutdown that
    /// came while waiting.
    fn request(&mut self, body: &Value, user_id: &str, nonce: &str) -> Result<Answer, Outcome> {
        match self.target.clone() {
            Target::Webhook { url } => {
                let route = "webhook";
                self.call(route, &url, None, body)
            }
            Target::Bot { token, api } => {
                let authorization = format!("Bot {token}");
                let channel = match self.dm_channels.get(user_id) {
                    Some(channel) => channel.clone(),
                    None => {
                        if user_id.trim().is_empty() {
                            return Ok(Answer {
                                outcome: Outcome::Permanent {
                                    status: 400,
                                    code: None,
                                    message: "the event has no user_id to send a direct message to"
                                        .into(),
                                },
                                headers: RateLimitHeaders::default(),
                                body: Value::Null,
                            });
                        }
                        let answer = self.call(
                            "POST /users/@me/channels",
                            &format!("{api}/users/@me/channels"),
                            Some(&authorization),
                            &json!({ "recipient_id": user_id }),
                        )?;
                        let id = answer.body.get("id").and_then(Value::as_str);
                        match (&answer.outcome, id) {
                            (Outcome::Delivered { .. }, Some(id)) => {
                                self.dm_channels.insert(user_id.into(), id.into());
                                id.to_string()
                            }
                            (Outcome::Delivered { .. }, None) => {
                                return Ok(Answer {
                                    outcome: Outcome::Retryable {
                                        reason: "discord created the DM channel but sent no id"
                                            .into(),
                                    },
                                    ..answer
                                })
                            }
                            _ => return Ok(answer),
                        }
                    }
                };
                let mut message = body.clone();
                if let Value::Object(map) = &mut message {
                    map.insert("nonce".into(), json!(nonce));
                    map.insert("enforce_nonce".into(), json!(true));
                }
                let answer = self.call(
                    &format!("POST /channels/{channel}/messages"),
                    &format!("{api}/channels/{channel}/messages"),
                    Some(&authorization),
                    &message,
                )?;
                if matches!(answer.outcome, Outcome::Permanent { status: 404, .. }) {
                    // The DM channel is gone: create it again next time.
                    self.dm_channels.remove(user_id);
                }
                Ok(answer)
            }
        }
    }

    fn call(
        &mut self,
        route: &str,
        url: &str,
        authorization: Option<&str>,
        body: &Value,
    ) -> Result<Answer, Outcome> {
        loop {
            let wait = self.limits.wait_before(route, Instant::now());
            if wait.is_zero() {
                break;
            }
            if !self.sleep(wait) {
                return Err(Outcome::RateLimited {
                    retry_after: wait,
                    global: false,
                });
            }
        }
        let answer = send(&self.agent, url, authorization, body);
        self.limits.update(route, &answer, Instant::now());
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, payload: Value) -> Event {
        Event {
            id: 1,
            user_id: "123".into(),
            event_type: event_type.into(),
            payload: payload.as_object().cloned().unwrap_or_default(),
            created_at: "2026-11-27T17:59:01.259152Z".into(),
            attempts: 0,
            last_attempt: None,
            error_message: None,
        }
    }

    #[test]
    fn cut_counts_code_points_and_ends_with_an_ellipsis() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(count(&cut(&"ñ".repeat(300), 256)), 256);
    }

    #[test]
    fn a_cut_code_block_stays_closed() {
        let text = code_block(&"x".repeat(5000));
        let out = cut_description(&text, 4096);
        assert_eq!(count(&out), 4096);
        assert!(out.starts_with("```\n") && out.ends_with("…\n```"));
    }

    #[test]
    fn every_limit_holds_whatever_the_payload() {
        let mut payload = Map::new();
        for index in 0..40 {
            payload.insert(
                format!("{}{index}", "k".repeat(300)),
                json!("v".repeat(2000)),
            );
        }
        payload.insert("empty".into(), json!(""));
        let big = event("huge", Value::Object(payload));
        let embed = embed(&big, Lang::Es);
        assert!(embed.size() <= limits::TOTAL);
        assert!(embed.fields.len() <= limits::FIELDS);
        for field in &embed.fields {
            assert!(!field.name.is_empty() && !field.value.is_empty());
            assert!(count(&field.name) <= limits::FIELD_NAME);
            assert!(count(&field.value) <= limits::FIELD_VALUE);
        }
        let ten: Vec<Event> = (0..10).map(|_| big.clone()).collect();
        let body = render(&ten, &RenderOptions::default());
        let total: usize = body["embeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|embed| {
                let text = |value: &Value| value.as_str().map_or(0, count);
                text(&embed["title"])
                    + text(&embed["description"])
                    + text(&embed["footer"]["text"])
                    + embed["fields"].as_array().map_or(0, |fields| {
                        fields
                            .iter()
                            .map(|field| text(&field["name"]) + text(&field["value"]))
                            .sum()
                    })
            })
            .sum();
        assert!(total <= limits::TOTAL, "{total}");
    }

    #[test]
    fn plan_keeps_messages_within_ten_embeds_and_six_thousand_characters() {
        let small: Vec<Event> = (0..25).map(|_| event("x", json!({"a": 1}))).collect();
        let sizes: Vec<usize> = plan(small, false, Lang::Es).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        let big: Vec<Event> = (0..3)
            .map(|_| {
                event(
                    event::BACKUP_ERROR,
                    json!({"error_message": "e".repeat(4000)}),
                )
            })
            .collect();
        assert_eq!(
            plan(big, false, Lang::Es).len(),
            3,
            "two of them would pass 6,000"
        );
    }

    #[test]
    fn plan_sends_each_direct_message_alone() {
        let mut events: Vec<Event> = (0..3).map(|_| event("x", json!({}))).collect();
        events[1].user_id = "456".into();
        let groups = plan(events, true, Lang::Es);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [1, 1, 1],
            "a DM's nonce must not depend on its neighbours"
        );
    }

    #[test]
    fn nonces_are_short_stable_and_distinct() {
        let one = nonce("http://a", &[1, 2]);
        assert_eq!(one, nonce("http://a", &[1, 2]));
        assert_ne!(one, nonce("http://b", &[1, 2]));
        assert_ne!(one, nonce("http://a", &[1]));
        assert!(one.len() <= limits::NONCE);
    }

    #[test]
    fn pasted_webhook_urls_are_normalized() {
        let api = DEFAULT_API_BASE;
        assert_eq!(
            webhook_url("https://discordapp.com/api/webhooks/1/tok", api).unwrap(),
            "https://discord.com/api/v10/webhooks/1/tok?wait=true"
        );
        assert_eq!(
            webhook_url(
                "https://discord.com/api/v10/webhooks/1/tok?wait=false&thread_id=9",
                api
            )
            .unwrap(),
            "https://discord.com/api/v10/webhooks/1/tok?thread_id=9&wait=true"
        );
        assert_eq!(
            webhook_url(
                "https://discord.com/api/webhooks/1/tok",
                "http://127.0.0.1:9/api/v10/"
            )
            .unwrap(),
            "http://127.0.0.1:9/api/v10/webhooks/1/tok?wait=true"
        );
        assert!(webhook_url("https://discord.com/api/webhooks/", api).is_err());
        assert!(webhook_url("discord.com/api/webhooks/1/x", api).is_err());
    }

    #[test]
    fn answers_are_classified_as_discord_documents_them() {
        let none = RateLimitHeaders::default;
        assert!(matches!(
            classify(200, none(), r#"{"id":"5"}"#).outcome,
            Outcome::Delivered { message_id: Some(ref id) } if id == "5"
        ));
        assert_eq!(
            classify(
                429,
                none(),
                r#"{"message":"x","retry_after":1.5,"global":true}"#
            )
            .outcome,
            Outcome::RateLimited {
                retry_after: Duration::from_millis(1500),
                global: true
            }
        );
        assert!(matches!(
            classify(502, none(), "<html>").outcome,
            Outcome::Retryable { .. }
        ));
        let closed = classify(
            403,
            none(),
            r#"{"message":"Cannot send messages to this user","code":50007}"#,
        );
        assert_eq!(
            closed.outcome.describe(),
            "discord 403 (code 50007): Cannot send messages to this user"
        );
    }

    #[test]
    fn an_exhausted_bucket_waits_for_its_reset() {
        let mut limits = RateLimits::default();
        let now = Instant::now();
        let answer = Answer {
            outcome: Outcome::Delivered { message_id: None },
            headers: RateLimitHeaders {
                remaining: Some(0),
                reset_after: Some(Duration::from_secs(2)),
                bucket: Some("b".into()),
                ..RateLimitHeaders::default()
            },
            body: Value::Null,
        };
        assert_eq!(limits.wait_before("r", now), Duration::ZERO);
        limits.update("r", &answer, now);
        assert!(limits.wait_before("r", now) >= Duration::from_secs(2));
        assert_eq!(limits.wait_before("other", now), Duration::ZERO);
    }
}
