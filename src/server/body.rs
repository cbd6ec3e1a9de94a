//! Request bodies: read within the size limit, and the failure report's keys.

use std::io::{self, Read};
use std::time::Duration;

use serde_json::{Map, Value};
use tiny_http::Request;

use super::errors::ApiError;
use crate::api::{AckRequest, MAX_BODY_BYTES};
use crate::store::{Ack, Failure};

/// The longest `retry_after` a consumer may ask for.
const RETRY_AFTER_MAX_SECONDS: f64 = 7.0 * 86_400.0;

/// The original API's body is `{"error_message": ...}` (any other keys ignored); an empty
/// body, as the original accepted, records "Unknown error".
pub(super) fn parse_failure(body: &[u8]) -> Result<Failure, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Failure {
            message: "Unknown error".into(),
            retryable: true,
            retry_after: None,
        });
    }
    let Value::Object(object) = parse_json(body)? else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    };
    failure_from(&object, "").map_err(ApiError::BadRequest)
}

/// `{"events": [{"id": 1, "status": "processed"}, {"id": 2, "status": "failed", ...}]}`: at
/// most [`AckRequest::MAX_EVENTS`] acknowledgements, each failure with the keys of the
/// single-event route. One bad entry refuses the whole batch (nothing is applied); an id that
/// names no event is not bad input, it gets its own `not_found` result.
pub(super) fn parse_acks(body: &[u8]) -> Result<Vec<(i64, Ack)>, ApiError> {
    let bad = |message: String| ApiError::BadRequest(message);
    let Value::Object(mut object) = parse_json(body)? else {
        return Err(bad(
            r#"the body must be a JSON object {"events": [...]}"#.into()
        ));
    };
    let Some(Value::Array(events)) = object.remove("events") else {
        return Err(bad("events must be an array of acknowledgements".into()));
    };
    if events.len() > AckRequest::MAX_EVENTS {
        return Err(bad(format!(
            "at most {} events per acknowledgement, not {}",
            AckRequest::MAX_EVENTS,
            events.len()
        )));
    }
    events
        .iter()
        .enumerate()
        .map(|(index, event)| parse_ack(event, &format!("events[{index}]")).map_err(bad))
        .collect()
}

/// One entry of an acknowledgement batch; `at` is its place (`events[3]`), for the messages.
fn parse_ack(event: &Value, at: &str) -> Result<(i64, Ack), String> {
    let Value::Object(object) = event else {
        return Err(format!(
            r#"{at} must be an object like {{"id": 1, "status": "processed"}}"#
        ));
    };
    let id = match object.get("id") {
        Some(Value::Number(number)) => number.as_i64(),
        _ => None,
    }
    .ok_or_else(|| format!("{at}.id must be an integer event id"))?;
    match object.get("status").and_then(Value::as_str) {
        Some("processed") => Ok((id, Ack::Processed)),
        Some("failed") => Ok((id, Ack::Failed(failure_from(object, &format!("{at}."))?))),
        _ => Err(format!(r#"{at}.status must be "processed" or "failed""#)),
    }
}

/// The failure keys of `object`; `prefix` says where it is in the body, for the messages.
fn failure_from(object: &Map<String, Value>, prefix: &str) -> Result<Failure, String> {
    let message = match object.get("error_message") {
        None | Some(Value::Null) => "Unknown error".to_string(),
        Some(Value::String(message)) => message.clone(),
        Some(_) => return Err(format!("{prefix}error_message must be a string")),
    };
    let retryable = match object.get("retryable") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(retryable)) => *retryable,
        Some(_) => return Err(format!("{prefix}retryable must be true or false")),
    };
    let retry_after = match object.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => match number.as_f64() {
            Some(seconds) if (0.0..=RETRY_AFTER_MAX_SECONDS).contains(&seconds) => {
                Some(Duration::from_secs_f64(seconds))
            }
            _ => return Err(format!("{prefix}retry_after must be 0 to 604800 seconds")),
        },
        Some(_) => return Err(format!("{prefix}retry_after must be a number of seconds")),
    };
    Ok(Failure {
        message,
        retryable,
        retry_after,
    })
}

/// A claim carries its parameters in the query string: its body may be empty or `{}`, so a
/// client that meant to send something else learns that it was not understood.
pub(super) fn require_empty_body(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match parse_json(body)? {
        Value::Object(object) if object.is_empty() => Ok(()),
        _ => Err(ApiError::BadRequest(
            "a claim takes its parameters in the query string; its body must be empty or {}".into(),
        )),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("the body is not JSON: {error}")))
}

pub(super) fn read_body(request: &mut Request) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|error| match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ApiError::RequestTimeout,
            _ => ApiError::BadRequest(format!("reading the body: {error}")),
        })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_bodies_follow_the_original_and_dq_keys() {
        assert_eq!(parse_failure(b"").unwrap().message, "Unknown error");
        let failure =
            parse_failure(br#"{"error_message":"x","retryable":false,"retry_after":2}"#).unwrap();
        assert!(!failure.retryable);
        assert_eq!(failure.retry_after, Some(Duration::from_secs(2)));
        for bad in [
            &b"nope"[..],
            b"[]",
            br#"{"error_message":5}"#,
            br#"{"retryable":"no"}"#,
            br#"{"retry_after":-1}"#,
            br#"{"retry_after":1e300}"#,
        ] {
            assert!(
                parse_failure(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
