//! What `dq consume` counts, per source: deliveries, failures, retries, 429s and source
//! errors, summed for the exit summary and `/health`, and written in Prometheus text format for
//! `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
}

#[derive(Default)]
pub(super) struct Metrics {
    sources: Mutex<Vec<Arc<Counters>>>,
}

#[derive(Default)]
pub(super) struct Totals {
    pub(super) delivered: u64,
    pub(super) failed: u64,
    pub(super) retried: u64,
    pub(super) rate_limited: u64,
    pub(super) source_errors: u64,
    pub(super) unmarked: u64,
}

impl Metrics {
    pub(super) fn add(&self, source: String) -> Arc<Counters> {
        let counters = Arc::new(Counters {
            source,
            ..Counters::default()
        });
        if let Ok(mut sources) = self.sources.lock() {
            sources.push(Arc::clone(&counters));
        }
        counters
    }

    fn snapshot(&self) -> Vec<Arc<Counters>> {
        self.sources
            .lock()
            .map(|sources| sources.clone())
            .unwrap_or_default()
    }

    pub(super) fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for counters in self.snapshot() {
            totals.delivered += counters.delivered.load(Ordering::Relaxed);
            totals.failed += counters.failed.load(Ordering::Relaxed);
            totals.retried += counters.retried.load(Ordering::Relaxed);
            totals.rate_limited += counters.rate_limited.load(Ordering::Relaxed);
            totals.source_errors += counters.source_errors.load(Ordering::Relaxed);
            totals.unmarked += counters.unmarked.load(Ordering::Relaxed);
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
        out
    }
}

/// A metric's name, help text and how to read it from a source's counters.
type Series = (&'static str, &'static str, fn(&Counters) -> u64);
