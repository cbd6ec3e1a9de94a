//! What `dq consume` counts, per source: deliveries, failures, retries, 429s and source
//! errors, summed for the exit summary and `/health`, and written in Prometheus text format for
//! `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::prometheus::{write_sources, Exposition, SourceDeliveries};

/// Counters of one source, as `/metrics` shows them.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) source: String,
    pub(super) delivered: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) rate_limited: AtomicU64,
    pub(super) source_errors: AtomicU64,
    pub(super) unmarked: AtomicU64,
    /// The oldest due age, the last delivery and the latencies (crate::prometheus).
    pub(super) figures: SourceDeliveries,
}

#[derive(Default)]
pub(super) struct Metrics {
    sources: Mutex<Vec<Arc<Counters>>>,
    /// What sources that were forgotten had counted, so the totals keep it.
    retired: Mutex<Totals>,
    /// `POST /sources` requests by outcome: accepted, unauthorized, invalid, refused.
    announcements: Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Default, Clone)]
pub(super) struct Totals {
    pub(super) delivered: u64,
    pub(super) failed: u64,
    pub(super) retried: u64,
    pub(super) rate_limited: u64,
    pub(super) source_errors: u64,
    pub(super) unmarked: u64,
}

impl Totals {
    fn add(&mut self, counters: &Counters) {
        self.delivered += counters.delivered.load(Ordering::Relaxed);
        self.failed += counters.failed.load(Ordering::Relaxed);
        self.retried += counters.retried.load(Ordering::Relaxed);
        self.rate_limited += counters.rate_limited.load(Ordering::Relaxed);
        self.source_errors += counters.source_errors.load(Ordering::Relaxed);
        self.unmarked += counters.unmarked.load(Ordering::Relaxed);
    }
}

impl Metrics {
    pub(super) fn add(&self, counters: &Arc<Counters>) {
        if let Ok(mut sources) = self.sources.lock() {
            sources.push(Arc::clone(counters));
        }
    }

    /// Stops showing a forgotten source; its counts stay in the totals.
    pub(super) fn retire(&self, counters: &Arc<Counters>) {
        if let Ok(mut sources) = self.sources.lock() {
            sources.retain(|kept| !Arc::ptr_eq(kept, counters));
        }
        if let Ok(mut retired) = self.retired.lock() {
            retired.add(counters);
        }
    }

    fn snapshot(&self) -> Vec<Arc<Counters>> {
        self.sources
            .lock()
            .map(|sources| sources.clone())
            .unwrap_or_default()
    }

    pub(super) fn count_announcement(&self, outcome: &'static str) {
        if let Ok(mut announcements) = self.announcements.lock() {
            *announcements.entry(outcome).or_default() += 1;
        }
    }

    pub(super) fn totals(&self) -> Totals {
        let mut totals = self
            .retired
            .lock()
            .map(|retired| retired.clone())
            .unwrap_or_default();
        for counters in self.snapshot() {
            totals.add(&counters);
        }
        totals
    }

    /// Prometheus text format.
    pub(super) fn prometheus(&self) -> String {
        let sources = self.snapshot();
        let mut out = String::new();
        let series: [Series; 5] = [
            ("delivered", "Events Discord accepted.", |c| {
                c.delivered.load(Ordering::Relaxed)
            }),
            ("failed", "Events whose delivery attempt failed.", |c| {
                c.failed.load(Ordering::Relaxed)
            }),
            (
                "retried",
                "Sends retried in place after a 5xx or network error.",
                |c| c.retried.load(Ordering::Relaxed),
            ),
            ("rate_limited", "429 answers from Discord.", |c| {
                c.rate_limited.load(Ordering::Relaxed)
            }),
            ("source_errors", "Failed requests to the source.", |c| {
                c.source_errors.load(Ordering::Relaxed)
            }),
        ];
        for (name, help, value) in series {
            out.push_str(&format!(
                "# HELP dq_consume_{name}_total {help}\n# TYPE dq_consume_{name}_total counter\n"
            ));
            for counters in &sources {
                let label = counters.source.replace('\\', "\\\\").replace('"', "\\\"");
                out.push_str(&format!(
                    "dq_consume_{name}_total{{source=\"{label}\"}} {}\n",
                    value(counters)
                ));
            }
        }
        out.push_str(&format!(
            "# HELP dq_consume_sources Sources delivered from now (given, announced or local).\n\
             # TYPE dq_consume_sources gauge\ndq_consume_sources {}\n",
            sources.len()
        ));
        let announcements = self
            .announcements
            .lock()
            .map(|announcements| announcements.clone())
            .unwrap_or_default();
        if !announcements.is_empty() {
            out.push_str(
                "# HELP dq_consume_announcements_total POST /sources requests by outcome.\n\
                 # TYPE dq_consume_announcements_total counter\n",
            );
            for (outcome, count) in announcements {
                out.push_str(&format!(
                    "dq_consume_announcements_total{{outcome=\"{outcome}\"}} {count}\n"
                ));
            }
        }
        let figures: Vec<(&str, &SourceDeliveries)> = sources
            .iter()
            .map(|counters| (counters.source.as_str(), &counters.figures))
            .collect();
        let mut exposition = Exposition::new();
        write_sources(&mut exposition, &figures, chrono::Utc::now());
        out.push_str(&exposition.finish());
        out
    }
}

/// A metric's name, help text and how to read it from a source's counters.
type Series = (&'static str, &'static str, fn(&Counters) -> u64);
