//! Discord's rate-limit buckets as its headers describe them, so requests wait before a
//! limit is hit rather than after a 429.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::outcome::{Answer, Outcome};

/// What Discord's headers say about the buckets, so requests wait *before* a limit is hit.
/// Routes map to buckets (`X-RateLimit-Bucket`); a bucket with nothing remaining is closed
/// until its reset; a global 429 closes everything.
#[derive(Debug, Default)]
pub struct RateLimits {
    route_bucket: HashMap<String, String>,
    buckets: HashMap<String, Bucket>,
    global_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u32,
    reset_at: Instant,
}

/// Sent slightly after a reset, so a clock a few milliseconds off does not earn a 429.
const RESET_MARGIN: Duration = Duration::from_millis(40);

impl RateLimits {
    /// How long to wait before a request on `route` may go out; zero when it may go now.
    pub fn wait_before(&self, route: &str, now: Instant) -> Duration {
        let mut until = self.global_until.filter(|until| *until > now);
        let bucket = self.route_bucket.get(route).map_or(route, String::as_str);
        if let Some(bucket) = self.buckets.get(bucket) {
            if bucket.remaining == 0 && bucket.reset_at > now {
                until = until.max(Some(bucket.reset_at));
            }
        }
        until.map_or(Duration::ZERO, |until| until.duration_since(now))
    }

    /// Learns from the headers (and the outcome) of a response on `route`.
    pub fn update(&mut self, route: &str, answer: &Answer, now: Instant) {
        let headers = &answer.headers;
        let bucket = match &headers.bucket {
            Some(bucket) => {
                self.route_bucket.insert(route.into(), bucket.clone());
                bucket.clone()
            }
            None => self
                .route_bucket
                .get(route)
                .cloned()
                .unwrap_or_else(|| route.into()),
        };
        if let Outcome::RateLimited {
            retry_after,
            global,
        } = &answer.outcome
        {
            let until = now + *retry_after + RESET_MARGIN;
            if *global {
                self.global_until = Some(self.global_until.map_or(until, |old| old.max(until)));
            } else {
                self.buckets.insert(
                    bucket,
                    Bucket {
                        remaining: 0,
                        reset_at: until,
                    },
                );
            }
            return;
        }
        if let (Some(remaining), Some(reset_after)) = (headers.remaining, headers.reset_after) {
            self.buckets.insert(
                bucket,
                Bucket {
                    remaining,
                    reset_at: now + reset_after + RESET_MARGIN,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::RateLimitHeaders;
    use serde_json::Value;

    #[test]
    fn an_exhausted_bucket_waits_for_its_reset() {
        let mut limits = RateLimits::default();
        let now = Instant::now();
        let answer = Answer {
            outcome: Outcome::Delivered { message_id: None },
            headers: RateLimitHeaders {
                remaining: Some(0),
                reset_after: Some(Duration::from_secs(2)),
                bucket: Some("b".into()),
                ..RateLimitHeaders::default()
            },
            body: Value::Null,
        };
        assert_eq!(limits.wait_before("r", now), Duration::ZERO);
        limits.update("r", &answer, now);
        assert!(limits.wait_before("r", now) >= Duration::from_secs(2));
        assert_eq!(limits.wait_before("other", now), Duration::ZERO);
    }
}
