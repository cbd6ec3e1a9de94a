//! Routing: which (method, path) is which route, and its label in the metrics.

use tiny_http::Method;

use super::errors::{printable, ApiError};
use crate::api;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Health,
    /// GET reads (never claims); POST publishes.
    Events,
    Claim,
    Ack,
    Event(i64, Action),
    Stats,
    Cleanup,
    Failed,
    Metrics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Processed,
    Failed,
    Retry,
}

/// The claim route's label, which also tells a parked claim from a parked read.
pub(super) const CLAIM_LABEL: &str = "claim";

impl Route {
    /// The label in `dq_http_requests_total`: a small fixed set, never a raw path.
    pub(super) fn label(route: Option<Route>) -> &'static str {
        match route {
            Some(Route::Health) => "health",
            Some(Route::Events) => "events",
            Some(Route::Claim) => CLAIM_LABEL,
            Some(Route::Ack) => "ack",
            Some(Route::Event(_, Action::Processed)) => "event_processed",
            Some(Route::Event(_, Action::Failed)) => "event_failed",
            Some(Route::Event(_, Action::Retry)) => "event_retry",
            Some(Route::Stats) => "stats",
            Some(Route::Cleanup) => "cleanup",
            Some(Route::Failed) => "failed",
            Some(Route::Metrics) => "metrics",
            None => "other",
        }
    }

    pub(super) fn allows(self, method: &Method) -> bool {
        match self {
            Route::Events => matches!(method, Method::Get | Method::Post),
            Route::Claim | Route::Ack | Route::Event(..) | Route::Cleanup => {
                *method == Method::Post
            }
            Route::Health | Route::Stats | Route::Failed | Route::Metrics => *method == Method::Get,
        }
    }

    pub(super) fn allowed(self) -> &'static str {
        match self {
            Route::Events => "GET, POST",
            Route::Claim | Route::Ack | Route::Event(..) | Route::Cleanup => "POST",
            Route::Health | Route::Stats | Route::Failed | Route::Metrics => "GET",
        }
    }
}

pub(super) fn parse_route(path: &str) -> Result<Route, ApiError> {
    let not_found = || ApiError::NotFound(format!("no route {}", printable(path)));
    Ok(match path {
        api::HEALTH => Route::Health,
        api::EVENTS => Route::Events,
        api::CLAIM => Route::Claim,
        api::ACK => Route::Ack,
        api::STATS => Route::Stats,
        api::CLEANUP => Route::Cleanup,
        api::FAILED => Route::Failed,
        api::METRICS => Route::Metrics,
        _ => {
            let rest = path
                .strip_prefix(api::EVENTS)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(not_found)?;
            let (id, action) = rest.split_once('/').ok_or_else(not_found)?;
            let action = match action {
                "processed" => Action::Processed,
                "failed" => Action::Failed,
                "retry" => Action::Retry,
                _ => return Err(not_found()),
            };
            Route::Event(parse_id(id)?, action)
        }
    })
}

pub(super) fn parse_id(text: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid event id {:?}", printable(text)));
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<i64>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_bad_ids_are_rejected() {
        assert_eq!(parse_route("/discord/events").unwrap(), Route::Events);
        assert_eq!(parse_route("/discord/events/claim").unwrap(), Route::Claim);
        assert_eq!(parse_route("/discord/events/ack").unwrap(), Route::Ack);
        assert_eq!(
            parse_route("/discord/events/12/failed").unwrap(),
            Route::Event(12, Action::Failed)
        );
        for bad in ["-1", "abc", "99999999999999999999", "", "1.5", "+1"] {
            let error = parse_route(&format!("/discord/events/{bad}/processed")).unwrap_err();
            assert_eq!(error.status(), 400, "{bad:?}");
        }
        assert_eq!(
            parse_route("/discord/events/1/nope").unwrap_err().status(),
            404
        );
        assert_eq!(parse_route("/").unwrap_err().status(), 404);
    }
}
