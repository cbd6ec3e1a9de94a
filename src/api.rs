//! The HTTP API's routes, query parameters and JSON bodies, shared by the server and the
//! client so the two cannot drift. Keys are the original Flask API's; dq's additions are
//! optional so the original bot and the original API keep working with dq.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::Event;

pub const HEALTH: &str = "/discord/health";
pub const EVENTS: &str = "/discord/events";
/// `POST`: claims due events under a lease (`GET /discord/events` only reads).
pub const CLAIM: &str = "/discord/events/claim";
/// `POST`: acknowledges a batch of events in one transaction.
pub const ACK: &str = "/discord/events/ack";
pub const STATS: &str = "/discord/stats";
pub const CLEANUP: &str = "/discord/cleanup";
pub const FAILED: &str = "/discord/failed";
pub const METRICS: &str = "/discord/metrics";

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The parameters of `POST /discord/events/claim` and `GET /discord/events`, with their
/// defaults and bounds. A GET never claims: it ignores `lease` (older consumers send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsQuery {
    /// 1..=100, default 50.
    pub limit: i64,
    /// 1..=100, default: the server's `--max-attempts`.
    pub max_attempts: Option<i64>,
    /// Lease in seconds: 1..=3600 on a claim, default 60. Zero means a read (a GET).
    pub lease: u64,
    /// Long-poll seconds, 0..=60, default 0.
    pub wait: u64,
}

impl Default for EventsQuery {
    fn default() -> Self {
        EventsQuery {
            limit: 50,
            max_attempts: None,
            lease: 60,
            wait: 0,
        }
    }
}

impl EventsQuery {
    pub const LIMIT_MAX: i64 = 100;
    pub const LEASE_MAX: u64 = 3600;
    pub const WAIT_MAX: u64 = 60;

    /// The query string a client sends (without the `?`).
    pub fn to_query(&self) -> String {
        let mut query = format!(
            "limit={}&lease={}&wait={}",
            self.limit, self.lease, self.wait
        );
        if let Some(max_attempts) = self.max_attempts {
            query.push_str(&format!("&max_attempts={max_attempts}"));
        }
        query
    }

    pub fn lease_duration(&self) -> Duration {
        Duration::from_secs(self.lease)
    }
}

/// `GET /discord/events` and `POST /discord/events/claim`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventsResponse {
    pub success: bool,
    pub count: usize,
    pub events: Vec<Event>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// `POST /discord/events/{id}/failed`. Only `error_message` is the original's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailedBody {
    pub error_message: String,
    /// `false`: dead-letter at once. Absent means retryable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// Seconds to wait before the event is due again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
}

/// `POST /discord/events/ack`: at most [`AckRequest::MAX_EVENTS`] acknowledgements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AckRequest {
    pub events: Vec<AckEvent>,
}

impl AckRequest {
    /// As many as one claim hands out.
    pub const MAX_EVENTS: usize = EventsQuery::LIMIT_MAX as usize;
}

/// One acknowledgement: `processed`, or `failed` with the keys of [`FailedBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckEvent {
    pub id: i64,
    pub status: AckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `false`: dead-letter at once. Absent means retryable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// Seconds to wait before the event is due again (0 to 604,800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
}

impl AckEvent {
    pub fn processed(id: i64) -> AckEvent {
        AckEvent {
            id,
            status: AckStatus::Processed,
            error_message: None,
            retryable: None,
            retry_after: None,
        }
    }

    pub fn failed(id: i64, body: FailedBody) -> AckEvent {
        AckEvent {
            id,
            status: AckStatus::Failed,
            error_message: Some(body.error_message),
            retryable: body.retryable,
            retry_after: body.retry_after,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    Processed,
    Failed,
}

/// The answer to `POST /discord/events/ack`: one result per event given, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckResponse {
    pub success: bool,
    pub results: Vec<AckResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckResult {
    pub id: i64,
    pub status: AckOutcome,
}

/// What an acknowledgement did to its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckOutcome {
    /// Delivered now.
    Processed,
    /// Delivered before (a repeated acknowledgement, or a late failure report): unchanged.
    AlreadyProcessed,
    /// Failed, and due again after a backoff.
    WillRetry,
    /// Failed, and in the dead letter now.
    DeadLettered,
    /// No event has this id (deleted, or never existed); nothing changed.
    NotFound,
}

/// `POST /discord/events/{id}/processed|failed|retry`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarkResponse {
    pub success: bool,
    pub event_id: i64,
    pub status: String,
}

/// `POST /discord/events` → 201.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishResponse {
    pub success: bool,
    pub event_id: i64,
    #[serde(default)]
    pub duplicate: bool,
}

/// Every error the server answers, whatever the status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub success: bool,
    pub error: String,
}

impl ErrorResponse {
    pub fn new(error: impl Into<String>) -> ErrorResponse {
        ErrorResponse {
            success: false,
            error: error.into(),
        }
    }
}

/// `GET /discord/health`: no token needed, nothing private.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthResponse {
    pub status: String,
    pub success: bool,
    pub queue_available: bool,
    pub config_valid: bool,
    pub timestamp: String,
}

/// A JSON object, for the bodies that are only ever built and shown (stats, config).
pub type Object = Map<String, Value>;

/// The path of an event's action route: `/discord/events/{id}/{action}`.
pub fn event_action_path(id: i64, action: &str) -> String {
    format!("{EVENTS}/{id}/{action}")
}

// ---------------------------------------------------------------------------------------------
// Announced sources: the routes a consumer (`dq consume --announce-key`) answers, and the
// bodies a `dq serve --announce` sends to them.

/// `POST /sources` registers or refreshes a source; `GET /sources` lists them. Both need
/// `Authorization: Bearer <announce key>`.
pub const SOURCES: &str = "/sources";

/// Announcement bodies larger than this are refused with 413: a URL, a token and a name fit
/// in far less.
pub const MAX_ANNOUNCEMENT_BYTES: usize = 8 * 1024;

/// `POST /sources`: a source saying where it is and how to authenticate to it.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    /// The source's base URL, as the consumer should reach it (`https://host[:port][/path]`).
    pub url: String,
    /// The bearer token the consumer must send to it; absent or null for a `--no-auth` serve.
    #[serde(default)]
    pub token: Option<String>,
    /// A name for people (the Codespace's name, or the host's).
    #[serde(default)]
    pub name: String,
}

/// Written by hand so that a token never reaches a log through `{:?}`.
impl std::fmt::Debug for Announcement {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Announcement")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("name", &self.name)
            .finish()
    }
}

/// The answer to `POST /sources` (200).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Announced {
    pub success: bool,
    /// `registered` (new: its worker starts now) or `refreshed` (known; token and name updated).
    pub status: String,
    /// The URL as the consumer keeps it.
    pub url: String,
    pub name: String,
}

/// `GET /sources`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourcesResponse {
    pub success: bool,
    pub count: usize,
    pub sources: Vec<SourceStatus>,
    pub timestamp: String,
}

/// One source in `GET /sources`: where it is and how delivery from it is going; never its
/// token. Times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// Announced sources show their URL whole (it carries no credentials); sources given
    /// with `--source` show it masked like every secret.
    pub url: String,
    pub name: String,
    /// `announced` or `static` (`--source`).
    pub origin: String,
    /// `starting` (not answered yet), `delivering`, or `backing_off` (it keeps failing).
    pub state: String,
    pub announced_at: Option<String>,
    pub announcements: u64,
    /// When the source last answered a claim.
    pub last_answer_at: Option<String>,
    /// When Discord last accepted a message from it.
    pub last_delivery_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// While failing, when the next try is due.
    pub backing_off_until: Option<String>,
    pub delivered: u64,
    pub failed: u64,
    pub source_errors: u64,
}
