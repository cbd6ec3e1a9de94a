//! Answers: what a handler returns, and writing it to the client (releasing the events an
//! answer carried if the client is gone).

use std::io::{self, Write};
use std::sync::atomic::Ordering;

use chrono::Utc;
use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use super::Shared;
use crate::api::{EventsQuery, EventsResponse, MarkResponse};
use crate::event::{format_timestamp, Event};
use crate::store::Store;

/// What a handler answers.
pub(super) enum Reply {
    Json {
        status: u16,
        body: Vec<u8>,
        /// Ids this answer leased: released if the client is gone before it gets them.
        claimed: Vec<i64>,
    },
    Text(String),
    /// Nothing is due yet: wait in the lobby.
    Park(EventsQuery),
}

impl Reply {
    pub(super) fn json(status: u16, body: &impl Serialize) -> Reply {
        Reply::Json {
            status,
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
            claimed: Vec::new(),
        }
    }
}

/// Sends an answer; if the client is gone, the events it would have carried are released.
/// Only an answer that carries claimed events needs to know (see [`Delivery`]); any other goes
/// out in one write.
pub(super) fn answer(
    shared: &Shared,
    store: &mut Store,
    request: Request,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    claimed: &[i64],
) {
    let delivery = if claimed.is_empty() {
        Delivery::Once
    } else {
        Delivery::NoticingGone
    };
    if send_with(request, status, content_type, body, None, delivery).is_err()
        && !claimed.is_empty()
        && store.release(claimed).is_ok()
    {
        shared
            .metrics
            .released
            .fetch_add(claimed.len() as u64, Ordering::Relaxed);
    }
}

pub(super) fn events_reply(query: &EventsQuery, events: Vec<Event>) -> Reply {
    let claimed = if query.lease > 0 {
        events.iter().map(|event| event.id).collect()
    } else {
        Vec::new()
    };
    let body = EventsResponse {
        success: true,
        count: events.len(),
        events,
        timestamp: Some(format_timestamp(Utc::now())),
    };
    match Reply::json(200, &body) {
        Reply::Json { status, body, .. } => Reply::Json {
            status,
            body,
            claimed,
        },
        other => other,
    }
}

pub(super) fn mark_reply(id: i64, status: &str) -> Reply {
    Reply::json(
        200,
        &MarkResponse {
            success: true,
            event_id: id,
            status: status.into(),
        },
    )
}

/// How an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Head and body in one write (one system call, one segment).
    Once,
    /// The head and the body in two writes, so a client that has gone away shows up as an
    /// error on the second (its kernel has answered the first with a reset by then, at least
    /// on a local network): for an answer whose events must be released if it is not read.
    NoticingGone,
}

/// Writes a response in one write (an error, a mark, a publish: nothing to take back if the
/// client is gone). tiny_http's own `respond` hides write errors; this returns them.
pub(super) fn send(
    request: Request,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    extra: Option<(&str, &str)>,
) -> io::Result<()> {
    send_with(request, status, content_type, body, extra, Delivery::Once)
}

fn send_with(
    request: Request,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    extra: Option<(&str, &str)>,
    delivery: Delivery,
) -> io::Result<()> {
    let mut response = Response::from_data(body).with_status_code(status);
    for (name, value) in [("Content-Type", content_type), ("Server", "dq")]
        .into_iter()
        .chain(extra)
    {
        if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    let mut bytes = Vec::with_capacity(256);
    let head_only = *request.method() == Method::Head;
    response.raw_print(
        &mut bytes,
        request.http_version().clone(),
        request.headers(),
        head_only,
        None,
    )?;
    let split = match delivery {
        Delivery::Once => bytes.len(),
        Delivery::NoticingGone => bytes
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .map_or(bytes.len(), |end| end + 4),
    };
    let (head, rest) = bytes.split_at(split);
    let mut writer = request.into_writer();
    writer.write_all(head)?;
    writer.flush()?;
    if !rest.is_empty() {
        writer.write_all(rest)?;
        writer.flush()?;
    }
    Ok(())
}
