//! `GET /discord/metrics`: counters kept as requests are answered, in Prometheus text format.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::lock;
use crate::api::AckOutcome;
use crate::prometheus::{Deliveries, Exposition};
use crate::store::{Acked, Marked};

#[derive(Default)]
pub(super) struct Metrics {
    /// (route label, status) → count.
    pub(super) requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Long polls waiting in the lobby now.
    pub(super) parked: AtomicU64,
    pub(super) claimed: AtomicU64,
    /// Acknowledgements (batch and single) by what they did.
    pub(super) processed: AtomicU64,
    pub(super) will_retry: AtomicU64,
    pub(super) dead_lettered: AtomicU64,
    pub(super) already_processed: AtomicU64,
    pub(super) not_found: AtomicU64,
    pub(super) released: AtomicU64,
    pub(super) published: AtomicU64,
    pub(super) retention_deleted: AtomicU64,
    /// Latencies of the events acknowledged processed here.
    deliveries: Deliveries,
}

impl Metrics {
    pub(super) fn count_request(&self, route: &'static str, status: u16) {
        *lock(&self.requests).entry((route, status)).or_insert(0) += 1;
    }

    pub(super) fn count_ack(&self, outcome: AckOutcome) {
        let counter = match outcome {
            AckOutcome::Processed => &self.processed,
            AckOutcome::AlreadyProcessed => &self.already_processed,
            AckOutcome::WillRetry => &self.will_retry,
            AckOutcome::DeadLettered => &self.dead_lettered,
            AckOutcome::NotFound => &self.not_found,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// For an event an acknowledgement marked processed, the time from its creation to `now`.
    pub(super) fn record_delivery(&self, acked: &Acked, now: DateTime<Utc>) {
        if acked.marked == Marked::Processed {
            self.deliveries.record(acked.created_at, now);
        }
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub(super) fn render(&self, stats: &crate::store::Stats) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(2048);
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP dq_events Events in the queue by state.");
        let _ = writeln!(out, "# TYPE dq_events gauge");
        for (state, count) in [
            ("pending", stats.pending),
            ("leased", stats.leased),
            ("waiting", stats.waiting),
            ("processed", stats.processed),
            ("failed", stats.failed),
        ] {
            let _ = writeln!(out, "dq_events{{state=\"{state}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP dq_http_requests_total HTTP requests answered, by route and status."
        );
        let _ = writeln!(out, "# TYPE dq_http_requests_total counter");
        for ((route, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "dq_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let counters = [
            (
                "dq_events_claimed_total",
                "Events handed out under a lease.",
                load(&self.claimed),
            ),
            (
                "dq_events_released_total",
                "Leases given back because the client went away.",
                load(&self.released),
            ),
            (
                "dq_events_published_total",
                "Events published over HTTP.",
                load(&self.published),
            ),
            (
                "dq_retention_deleted_total",
                "Processed events deleted by retention.",
                load(&self.retention_deleted),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP dq_events_acked_total Acknowledgements by outcome."
        );
        let _ = writeln!(out, "# TYPE dq_events_acked_total counter");
        for (outcome, counter) in [
            ("processed", &self.processed),
            ("will_retry", &self.will_retry),
            ("dead_lettered", &self.dead_lettered),
            ("already_processed", &self.already_processed),
            ("not_found", &self.not_found),
        ] {
            let _ = writeln!(
                out,
                "dq_events_acked_total{{outcome=\"{outcome}\"}} {}",
                load(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP dq_long_polls_waiting Long polls waiting for an event."
        );
        let _ = writeln!(out, "# TYPE dq_long_polls_waiting gauge");
        let _ = writeln!(out, "dq_long_polls_waiting {}", load(&self.parked));
        // The age and the last delivery come from the store, so they count every consumer's
        // deliveries (another serve, a local consume, the original API); the latencies are
        // those of the acknowledgements recorded here.
        let mut delivery = Exposition::new();
        self.deliveries.write(
            &mut delivery,
            Some(stats.oldest_due_age_seconds),
            stats.last_delivery,
        );
        out.push_str(&delivery.finish());
        out
    }
}
