//! A worker's cache of its last safe read, so a burst of identical reads costs one query.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::reply::Reply;
use crate::api::EventsQuery;
use crate::event::{format_timestamp, Event};
use crate::store::Store;

/// A worker's last answer to a `GET /discord/events` (a read), reused while nothing
/// has been committed anywhere and for at most `READ_CACHE_TTL`. Commits by other connections
/// (other workers, the lobby, other processes) move this connection's `PRAGMA data_version`;
/// its own writes drop the cache explicitly. The time limit covers what no commit announces:
/// a lease or backoff running out, which a read sees at most that much later.
pub(super) struct ReadCache {
    query: EventsQuery,
    data_version: i64,
    made: Instant,
    pub(super) count: usize,
    /// The serialized `events` array.
    events: Vec<u8>,
}

const READ_CACHE_TTL: Duration = Duration::from_millis(100);

impl ReadCache {
    pub(super) fn new(store: &Store, query: &EventsQuery, events: &[Event]) -> Option<ReadCache> {
        Some(ReadCache {
            query: *query,
            data_version: store.data_version().ok()?,
            made: Instant::now(),
            count: events.len(),
            events: serde_json::to_vec(events).ok()?,
        })
    }

    pub(super) fn lookup<'a>(
        cache: &'a Option<ReadCache>,
        store: &Store,
        query: &EventsQuery,
    ) -> Option<&'a ReadCache> {
        let hit = cache.as_ref()?;
        let same_query = hit.query.limit == query.limit
            && hit.query.max_attempts == query.max_attempts
            && hit.query.lease == query.lease;
        (same_query
            && hit.made.elapsed() < READ_CACHE_TTL
            && store.data_version().ok()? == hit.data_version)
            .then_some(hit)
    }

    /// The same bytes `events_reply` would send, with a fresh timestamp.
    pub(super) fn reply(&self) -> Reply {
        let timestamp = format_timestamp(Utc::now());
        let mut body = Vec::with_capacity(self.events.len() + 96);
        body.extend_from_slice(
            format!("{{\"success\":true,\"count\":{},\"events\":", self.count).as_bytes(),
        );
        body.extend_from_slice(&self.events);
        body.extend_from_slice(format!(",\"timestamp\":\"{timestamp}\"}}").as_bytes());
        Reply::Json {
            status: 200,
            body,
            claimed: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::NewEvent;
    use crate::server::reply::events_reply;
    use crate::store::{Claim, Policy};
    use serde_json::{json, Value};

    #[test]
    fn a_cached_read_answers_the_same_json_as_a_fresh_one() {
        let mut store = Store::open_in_memory(Policy::default()).unwrap();
        let event = NewEvent {
            event_type: "custom".into(),
            payload: json!({"text": "é \" \\n"}).as_object().unwrap().clone(),
            user_id: "1".into(),
            dedup_key: None,
            presentation: Default::default(),
        };
        store.publish(&[event], Duration::ZERO, Utc::now()).unwrap();
        let query = EventsQuery {
            lease: 0,
            ..EventsQuery::default()
        };
        let events = store
            .claim(
                Claim {
                    limit: 50,
                    lease: Duration::ZERO,
                },
                Utc::now(),
            )
            .unwrap();
        let body = |reply: Reply| match reply {
            Reply::Json { body, .. } => {
                let mut value: Value = serde_json::from_slice(&body).unwrap();
                value["timestamp"] = Value::Null;
                value
            }
            _ => panic!("not JSON"),
        };
        let cached = ReadCache::new(&store, &query, &events).unwrap();
        assert_eq!(body(cached.reply()), body(events_reply(&query, events)));
    }
}
