//! One HTTP request to Discord with ureq: the agent, the send, and what a network error
//! means (never with the URL in it: a webhook URL carries its token).

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use super::outcome::{classify, seconds, Answer, Outcome, RateLimitHeaders};

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
