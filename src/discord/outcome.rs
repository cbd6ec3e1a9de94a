//! How Discord answered: the typed `Outcome` the consumer branches on, the rate-limit
//! headers of a response, and the classification of a status and body as Discord documents
//! them.

use std::time::Duration;

use serde_json::Value;

use crate::render::cut;

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

pub(super) fn seconds(text: &str) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
