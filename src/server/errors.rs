//! Errors: one enum, one match to a status.

use std::io;

use crate::api::MAX_BODY_BYTES;
use crate::store::StoreError;

/// At most 100 characters of client input, for an error message.
pub(super) fn printable(text: &str) -> String {
    let mut shown: String = text.chars().take(100).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

#[derive(Debug)]
pub(super) enum ApiError {
    BadRequest(String),
    Unauthorized(&'static str),
    NotFound(String),
    MethodNotAllowed(&'static str),
    RequestTimeout,
    Conflict(String),
    PayloadTooLarge,
    Unavailable(String),
    /// Accepted beyond `--max-connections` (the limit).
    TooManyConnections(usize),
    Internal(String),
}

impl ApiError {
    pub(super) fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::RequestTimeout => 408,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable(_) | ApiError::TooManyConnections(_) => 503,
        }
    }

    pub(super) fn message(&self) -> String {
        match self {
            ApiError::BadRequest(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::Internal(message) => message.clone(),
            ApiError::Unavailable(message) => format!("the queue is unavailable: {message}"),
            ApiError::TooManyConnections(limit) => {
                format!("too many connections (at most {limit} at once); try again")
            }
            ApiError::Unauthorized(message) => (*message).into(),
            ApiError::MethodNotAllowed(allowed) => format!("method not allowed; use {allowed}"),
            ApiError::RequestTimeout => "the request body did not arrive in time".into(),
            ApiError::PayloadTooLarge => {
                format!("request body over {} KiB", MAX_BODY_BYTES / 1024)
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> ApiError {
        if let Some(store_error) = error.downcast_ref::<StoreError>() {
            return match store_error {
                StoreError::NotFound(_) => ApiError::NotFound(store_error.to_string()),
                StoreError::NotFailed(_) => ApiError::Conflict(store_error.to_string()),
            };
        }
        let storage_fault = error.chain().any(|cause| {
            use rusqlite::ErrorCode::*;
            matches!(
                cause.downcast_ref::<rusqlite::Error>(),
                Some(rusqlite::Error::SqliteFailure(failure, _)) if matches!(
                    failure.code,
                    DatabaseBusy | DatabaseLocked | ReadOnly | DiskFull | CannotOpen
                        | PermissionDenied | SystemIoFailure | OutOfMemory
                        // The file was damaged or replaced under us: the queue is unavailable
                        // until it is restored, which is no fault of the request's.
                        | DatabaseCorrupt | NotADatabase
                )
            ) || cause.downcast_ref::<io::Error>().is_some()
        });
        if storage_fault {
            ApiError::Unavailable(format!("{error:#}"))
        } else {
            ApiError::Internal(format!("{error:#}"))
        }
    }
}
