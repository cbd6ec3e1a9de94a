//! The consumer's own HTTP listener (`--listen`, or `0.0.0.0:$PORT` wherever a hosting
//! platform sets `PORT`), on a thread of its own:
//! - `GET /health` (also `/` and `/discord/health`): open to anyone, counts only: a platform's
//!   health check and a sleeping service's wake-up call;
//! - `GET /metrics`: Prometheus text; with `--announce-key` it needs the key too, since it
//!   names the sources;
//! - `POST /sources` (an announcement: `api::Announcement`) and `GET /sources` (the registry,
//!   never a token): only with `--announce-key`, and only with `Authorization: Bearer <key>`.
//!
//! It faces the internet, so it holds up to hostile input like `dq serve`, through the same
//! listener (`server::listen`): the patched tiny_http bounds header lines and counts, drops a
//! request that has not arrived whole within `REQUEST_TIMEOUT` and serves at most
//! `MAX_CONNECTIONS` at once; bodies are bounded (413); every error is JSON; the key is
//! compared in constant time before a body is read.

use std::io::{self, Read};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use tiny_http::{Header, Method, Request, Response};

use super::{Consumer, Refusal};
use crate::api::{self, Announcement, ErrorResponse, SourcesResponse, MAX_ANNOUNCEMENT_BYTES};
use crate::event::format_timestamp;
use crate::secret::check_bearer;

/// A client that sends nothing for this long, mid-request or between requests, is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once. Announcements, health checks and scrapes are short; beyond
/// this (plus `server::RESERVE`) a connection gets a quick 503, and `/health` still answers.
const MAX_CONNECTIONS: usize = 64;
/// Announced tokens longer than this are refused (`dq serve` makes 64 characters).
const MAX_TOKEN_BYTES: usize = 1024;
/// Announced names are cut to this many characters.
const MAX_NAME_CHARS: usize = 100;

/// Binds `address` and answers on a thread of its own until the process exits.
pub(super) fn start(address: &str, consumer: Arc<Consumer>, key: Option<String>) -> Result<()> {
    let listener = crate::server::listen(address, REQUEST_TIMEOUT, MAX_CONNECTIONS)?;
    let routes = if key.is_some() {
        "/health, /metrics and /sources"
    } else {
        "/health and /metrics"
    };
    eprintln!("dq: answering {routes} on http://{}", listener.addr);
    thread::Builder::new()
        .name("listen".into())
        .spawn(move || {
            // Until the process exits: nothing unblocks it, and nothing needs to.
            while let Ok(request) = listener.http.recv() {
                handle(request, &consumer, key.as_deref());
            }
        })
        .context("starting the listener thread")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Routes

/// An answer: status, content type, body and at most one extra header.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    header: Option<(&'static str, &'static str)>,
}

impl Reply {
    fn json(status: u16, body: &impl Serialize) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
            header: None,
        }
    }

    fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::json(status, &ErrorResponse::new(message))
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Reply {
        self.header = Some((name, value));
        self
    }
}

fn handle(mut request: Request, consumer: &Consumer, key: Option<&str>) {
    let reply = route(&mut request, consumer, key);
    let mut response = Response::from_string(reply.body).with_status_code(reply.status);
    for (name, value) in [("Content-Type", reply.content_type), ("Server", "dq")]
        .into_iter()
        .chain(reply.header)
    {
        if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    // A client that went away is no concern of ours.
    let _ = request.respond(response);
}

fn route(request: &mut Request, consumer: &Consumer, key: Option<&str>) -> Reply {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().clone();
    let readable = matches!(method, Method::Get | Method::Head);
    let health = matches!(path.as_str(), "/health" | "/" | api::HEALTH);
    if request.over_capacity() && !health {
        return Reply::error(503, "too many connections; try again shortly")
            .with_header("Retry-After", "1");
    }
    match path.as_str() {
        "/health" | "/" | api::HEALTH => {
            if !readable {
                return not_allowed("GET");
            }
            let totals = consumer.metrics().totals();
            Reply::json(
                200,
                &json!({
                    "status": "healthy",
                    "success": true,
                    "sources": consumer.registry().entries().len(),
                    "delivered": totals.delivered,
                    "failed": totals.failed,
                }),
            )
        }
        "/metrics" => {
            if !readable {
                return not_allowed("GET");
            }
            if let Err(refused) = authorize(request, key) {
                return refused;
            }
            Reply {
                status: 200,
                content_type: "text/plain; version=0.0.4",
                body: consumer.metrics().prometheus(),
                header: None,
            }
        }
        api::SOURCES => {
            let Some(key) = key else {
                return Reply::error(
                    404,
                    "this consumer takes no announcements: start dq consume with \
                     --announce-key (DQ_ANNOUNCE_KEY)",
                );
            };
            match method {
                Method::Get | Method::Head => {
                    if let Err(refused) = authorize(request, Some(key)) {
                        return refused;
                    }
                    let sources: Vec<_> = consumer
                        .registry()
                        .entries()
                        .iter()
                        .map(|entry| entry.status())
                        .collect();
                    Reply::json(
                        200,
                        &SourcesResponse {
                            success: true,
                            count: sources.len(),
                            sources,
                            timestamp: format_timestamp(Utc::now()),
                        },
                    )
                }
                Method::Post => {
                    if let Err(refused) = authorize(request, Some(key)) {
                        consumer.metrics().count_announcement("unauthorized");
                        return refused;
                    }
                    let reply = announce(request, consumer);
                    consumer.metrics().count_announcement(match reply.status {
                        200 => "accepted",
                        413 | 400 | 408 => "invalid",
                        _ => "refused",
                    });
                    reply
                }
                _ => not_allowed("GET, POST"),
            }
        }
        _ => Reply::error(404, "not found"),
    }
}

fn not_allowed(allow: &'static str) -> Reply {
    Reply::error(405, "method not allowed").with_header("Allow", allow)
}

/// `Authorization: Bearer <key>`, when a key is set.
fn authorize(request: &Request, key: Option<&str>) -> Result<(), Reply> {
    let Some(key) = key else {
        return Ok(());
    };
    let value = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("Authorization"))
        .map(|header| header.value.as_str());
    let checked = match value {
        None => Err("missing Authorization: Bearer <announce key> header"),
        Some(value) => check_bearer(value, key),
    };
    checked.map_err(|why| {
        Reply::error(401, why).with_header("WWW-Authenticate", "Bearer realm=\"dq consume\"")
    })
}

/// `POST /sources`: reads and checks the announcement, then registers or refreshes it.
fn announce(request: &mut Request, consumer: &Consumer) -> Reply {
    let too_large = || {
        Reply::error(
            413,
            format!("an announcement is at most {MAX_ANNOUNCEMENT_BYTES} bytes"),
        )
    };
    if request
        .body_length()
        .is_some_and(|length| length > MAX_ANNOUNCEMENT_BYTES)
    {
        return too_large();
    }
    let mut body = Vec::new();
    if let Err(error) = request
        .as_reader()
        .take(MAX_ANNOUNCEMENT_BYTES as u64 + 1)
        .read_to_end(&mut body)
    {
        return match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                Reply::error(408, "the request did not arrive in time")
            }
            _ => Reply::error(400, "the body could not be read"),
        };
    }
    if body.len() > MAX_ANNOUNCEMENT_BYTES {
        return too_large();
    }
    let announcement: Announcement = match serde_json::from_slice(&body) {
        Ok(announcement) => announcement,
        // serde's message names the position and the expected type, never a whole value.
        Err(error) => {
            return Reply::error(
                400,
                format!(
                    "the body is not an announcement {{\"url\", \"token\", \"name\"}}: {}",
                    error.classify_message()
                ),
            )
        }
    };
    let token = match check_token(announcement.token) {
        Ok(token) => token,
        Err(why) => return Reply::error(400, why),
    };
    match consumer.announce(&announcement.url, token, clean_name(&announcement.name)) {
        Ok(announced) => Reply::json(200, &announced),
        Err(Refusal::Invalid(why)) => Reply::error(400, why),
        Err(Refusal::Full(limit)) => Reply::error(
            503,
            format!("this consumer has {limit} sources already (--max-sources); none is added"),
        )
        .with_header("Retry-After", "300"),
        Err(Refusal::Unavailable(why)) => {
            Reply::error(503, format!("could not start delivering: {why}"))
                .with_header("Retry-After", "60")
        }
    }
}

/// A token is sent as a header: printable ASCII without spaces, bounded; empty means none.
fn check_token(token: Option<String>) -> Result<Option<String>, String> {
    let Some(token) = token.map(|token| token.trim().to_string()) else {
        return Ok(None);
    };
    if token.is_empty() {
        return Ok(None);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(format!("the token is longer than {MAX_TOKEN_BYTES} bytes"));
    }
    if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("the token must be printable ASCII without spaces".into());
    }
    Ok(Some(token))
}

/// A name fit for a log line: no control characters, at most `MAX_NAME_CHARS`.
fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect()
}

/// serde_json's error without the input it quotes: only its category, line and column.
trait Classify {
    fn classify_message(&self) -> String;
}

impl Classify for serde_json::Error {
    fn classify_message(&self) -> String {
        let what = match self.classify() {
            serde_json::error::Category::Io => "it could not be read",
            serde_json::error::Category::Syntax => "it is not valid JSON",
            serde_json::error::Category::Data => "a key is missing or has the wrong type",
            serde_json::error::Category::Eof => "it ends too early",
        };
        format!("{what} (line {}, column {})", self.line(), self.column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_tokens_must_fit_in_a_header() {
        assert_eq!(check_token(None), Ok(None));
        assert_eq!(check_token(Some("  ".into())), Ok(None));
        assert_eq!(check_token(Some(" abc ".into())), Ok(Some("abc".into())));
        assert!(check_token(Some("a b".into())).is_err());
        assert!(check_token(Some("a\r\nX-Evil: 1".into())).is_err());
        assert!(check_token(Some("é".into())).is_err());
        assert!(check_token(Some("a".repeat(MAX_TOKEN_BYTES + 1))).is_err());
    }

    #[test]
    fn announced_names_lose_control_characters_and_length() {
        assert_eq!(clean_name(" box\n\u{1b}[31mred "), "box[31mred");
        assert_eq!(clean_name(&"n".repeat(500)).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn body_errors_never_quote_the_body() {
        let error =
            serde_json::from_slice::<Announcement>(br#"{"url": 5, "token": 12345}"#).unwrap_err();
        let message = error.classify_message();
        assert!(!message.contains("12345"), "{message}");
    }
}
