//! The HTTP API's routes, query parameters and JSON bodies, shared by the server and the
//! client so the two cannot drift. Keys are the original Flask API's; dq's additions are
//! optional so the original bot and the original API keep working with dq.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::Event;

pub const HEALTH: &str = "/discord/health";
pub const EVENTS: &str = "/discord/events";
pub const STATS: &str = "/discord/stats";
pub const CLEANUP: &str = "/discord/cleanup";
pub const FAILED: &str = "/discord/failed";
pub const METRICS: &str = "/discord/metrics";

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `GET /discord/events` parameters, with their defaults and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsQuery {
    /// 1..=100, default 50.
    pub limit: i64,
    /// 1..=100, default: the server's `--max-attempts`.
    pub max_attempts: Option<i64>,
    /// Lease in seconds, 0..=3600, default 60; 0 reads without claiming.
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

/// `GET /discord/events`.
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
