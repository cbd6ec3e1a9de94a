//! Request bodies: read within the size limit, and the failure report's keys.

use std::io::{self, Read};
use std::time::Duration;

use serde_json::Value;
use tiny_http::Request;

use super::errors::ApiError;
use crate::api::MAX_BODY_BYTES;
use crate::store::Failure;

/// The longest `retry_after` a consumer may ask for.
const RETRY_AFTER_MAX_SECONDS: f64 = 7.0 * 86_400.0;

/// The original API's body is `{"error_message": ...}` (any other keys ignored); an empty
/// body, as the original accepted, records "Unknown error".
pub(super) fn parse_failure(body: &[u8]) -> Result<Failure, ApiError> {
    let bad = |message: &str| ApiError::BadRequest(message.into());
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Failure {
            message: "Unknown error".into(),
            retryable: true,
            retry_after: None,
        });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("the body is not JSON: {error}")))?;
    let Value::Object(object) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    let message = match object.get("error_message") {
        None | Some(Value::Null) => "Unknown error".to_string(),
        Some(Value::String(message)) => message.clone(),
        Some(_) => return Err(bad("error_message must be a string")),
    };
    let retryable = match object.get("retryable") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(retryable)) => *retryable,
        Some(_) => return Err(bad("retryable must be true or false")),
    };
    let retry_after = match object.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => match number.as_f64() {
            Some(seconds) if (0.0..=RETRY_AFTER_MAX_SECONDS).contains(&seconds) => {
                Some(Duration::from_secs_f64(seconds))
            }
            _ => return Err(bad("retry_after must be 0 to 604800 seconds")),
        },
        Some(_) => return Err(bad("retry_after must be a number of seconds")),
    };
    Ok(Failure {
        message,
        retryable,
        retry_after,
    })
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
