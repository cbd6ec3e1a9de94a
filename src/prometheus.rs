//! The Prometheus text format (version 0.0.4) and the delivery figures people alert on, shared
//! by serve's `/discord/metrics` and consume's `/metrics` so both write them alike:
//! - `dq_delivery_latency_seconds`, a histogram of the time from an event's creation to its
//!   delivery (serve observes it in the acknowledgements it records, consume when Discord
//!   accepts a message);
//! - `dq_last_delivery_timestamp_seconds`, when the last delivery happened (Unix seconds);
//! - `dq_oldest_due_age_seconds`, how long the oldest due event has been waiting.
//!
//! [`Exposition`] writes families with their `# HELP` and `# TYPE` lines first and escapes
//! label values, so that what either server writes passes `promtool check metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, Utc};

pub const DELIVERY_LATENCY: &str = "dq_delivery_latency_seconds";
pub const LAST_DELIVERY: &str = "dq_last_delivery_timestamp_seconds";
pub const OLDEST_DUE_AGE: &str = "dq_oldest_due_age_seconds";

pub const DELIVERY_LATENCY_HELP: &str =
    "Time from an event's creation to its delivery (Discord accepted it).";
pub const LAST_DELIVERY_HELP: &str =
    "When the last delivery happened, in Unix seconds (absent until one has).";
pub const OLDEST_DUE_AGE_HELD_HELP: &str =
    "Age of the oldest event consume holds from this source (due when claimed, not yet delivered or failed); 0 when it holds none.";
pub const OLDEST_DUE_AGE_HELP: &str =
    "Age of the oldest event due for delivery (pending, neither leased nor waiting a backoff); 0 when none is due.";

/// Upper bounds of the latency buckets, in seconds: 10 ms (a consumer waiting in a long poll)
/// to a day (events that waited out a sleeping consumer, a platform's idle stop or the
/// retry backoffs of 1 minute, 10 minutes and an hour).
pub const DELIVERY_LATENCY_BUCKETS: [f64; 20] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0,
    3600.0, 10_800.0, 21_600.0, 43_200.0, 86_400.0,
];

/// Metric families in the text format.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

/// What a family's `# TYPE` line says.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines, which come before its samples.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample of the family just started.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (index, (label, text)) in labels.iter().enumerate() {
                if index > 0 {
                    self.out.push(',');
                }
                let text = text
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{label}=\"{text}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
        self
    }

    /// A family of one gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) -> &mut Self {
        self.family(name, Kind::Gauge, help)
            .sample(name, &[], value)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A number as the text format writes it: integers without a fraction, `+Inf` for infinity.
fn number(value: f64) -> String {
    if value == f64::INFINITY {
        "+Inf".into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A histogram of delivery latencies, updated from any thread without a lock.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative); the last one is above every bound.
    counts: Vec<AtomicU64>,
    /// The sum of all observations, in microseconds.
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// The latency histogram with [`DELIVERY_LATENCY_BUCKETS`].
    pub fn delivery_latency() -> Histogram {
        Histogram::new(&DELIVERY_LATENCY_BUCKETS)
    }

    /// Counts one observation; a negative one (a clock that moved back) counts as zero.
    pub fn observe(&self, seconds: f64) {
        let seconds = if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        };
        let bucket = self
            .bounds
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(self.bounds.len());
        if let Some(count) = self.counts.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros
            .fetch_add((seconds * 1e6).round() as u64, Ordering::Relaxed);
    }

    /// Counts the time from `created` to `delivered`.
    pub fn observe_delivery(&self, created: DateTime<Utc>, delivered: DateTime<Utc>) {
        let micros = (delivered - created).num_microseconds().unwrap_or(i64::MAX);
        self.observe(micros as f64 / 1e6);
    }

    /// The family with its cumulative `_bucket` samples (`le` ending at `+Inf`), `_sum` and
    /// `_count`. Buckets are read once each, so `+Inf` equals `_count` even while other
    /// threads observe.
    pub fn write(&self, exposition: &mut Exposition, name: &str, help: &str) {
        exposition.family(name, Kind::Histogram, help);
        self.write_samples(exposition, name, &[]);
    }

    /// The samples alone, each with `labels`, for a family already started.
    pub fn write_samples(&self, exposition: &mut Exposition, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = number(self.bounds.get(index).copied().unwrap_or(f64::INFINITY));
            let mut with_le = labels.to_vec();
            with_le.push(("le", &bound));
            exposition.sample(&bucket, &with_le, cumulative as f64);
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        exposition.sample(&format!("{name}_sum"), labels, sum);
        exposition.sample(&format!("{name}_count"), labels, cumulative as f64);
    }
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::delivery_latency()
    }
}

/// What one process saw of deliveries: their latencies and when the last one happened.
#[derive(Debug, Default)]
pub struct Deliveries {
    latency: Histogram,
    /// Unix microseconds of the latest delivery; 0 before the first.
    last_micros: AtomicI64,
}

impl Deliveries {
    /// Records a delivery at `delivered` of an event created at `created` (`None` when its
    /// creation time could not be read: then only the time of the last delivery moves).
    pub fn record(&self, created: Option<DateTime<Utc>>, delivered: DateTime<Utc>) {
        if let Some(created) = created {
            self.latency.observe_delivery(created, delivered);
        }
        self.last_micros
            .fetch_max(delivered.timestamp_micros(), Ordering::Relaxed);
    }

    /// When the latest delivery recorded here happened.
    pub fn last(&self) -> Option<DateTime<Utc>> {
        match self.last_micros.load(Ordering::Relaxed) {
            0 => None,
            micros => DateTime::from_timestamp_micros(micros),
        }
    }

    /// `dq_oldest_due_age_seconds` (when given), `dq_last_delivery_timestamp_seconds` (when
    /// there was one: a 0 would read as 1970, and alert as "no delivery for 56 years") and the
    /// latency histogram.
    pub fn write(
        &self,
        exposition: &mut Exposition,
        oldest_due_age: Option<f64>,
        last_delivery: Option<DateTime<Utc>>,
    ) {
        if let Some(age) = oldest_due_age {
            exposition.gauge(OLDEST_DUE_AGE, OLDEST_DUE_AGE_HELP, age);
        }
        if let Some(time) = last_delivery {
            exposition.gauge(LAST_DELIVERY, LAST_DELIVERY_HELP, unix_seconds(time));
        }
        self.latency
            .write(exposition, DELIVERY_LATENCY, DELIVERY_LATENCY_HELP);
    }
}

/// What a consumer saw of one source: its deliveries, and the oldest due event it holds.
/// Claims hand out the oldest due events first, so the oldest event of an answer was the
/// oldest due one; its age grows while the consumer holds it (Discord slow, retries, rate
/// limits) and is 0 once the consumer has handled the answer: asking again, it either gets
/// the next due events at once or waits because none is due. A consumer that is not asking
/// (paused while Discord keeps failing, or its source unreachable) cannot know more: serve's
/// `/discord/metrics` has the age at any time.
#[derive(Debug, Default)]
pub struct SourceDeliveries {
    deliveries: Deliveries,
    /// Creation time (Unix microseconds) of the oldest event held; 0 when none.
    oldest_held_micros: AtomicI64,
}

impl SourceDeliveries {
    /// A claim answered with events created at `created` (unreadable times skipped).
    pub fn claimed(&self, created: impl IntoIterator<Item = Option<DateTime<Utc>>>) {
        let oldest = created.into_iter().flatten().min();
        self.oldest_held_micros.store(
            oldest.map_or(0, |time| time.timestamp_micros()),
            Ordering::Relaxed,
        );
    }

    /// Discord accepted an event created at `created` (`None`: unreadable) at `delivered`.
    pub fn delivered(&self, created: Option<DateTime<Utc>>, delivered: DateTime<Utc>) {
        self.deliveries.record(created, delivered);
    }

    /// The consumer is done with the last answer's events (delivered, failed or given up).
    pub fn handled(&self) {
        self.oldest_held_micros.store(0, Ordering::Relaxed);
    }

    /// Seconds since the oldest held event was created, at `now`; 0 when none is held.
    pub fn oldest_due_age(&self, now: DateTime<Utc>) -> f64 {
        match self.oldest_held_micros.load(Ordering::Relaxed) {
            0 => 0.0,
            micros => (now.timestamp_micros() - micros).max(0) as f64 / 1e6,
        }
    }
}

/// The delivery figures of every source, each family once with a `source` label per sample:
/// the oldest due age (see [`SourceDeliveries`]), the last delivery (for sources that had
/// one) and the latency histogram.
pub fn write_sources(
    exposition: &mut Exposition,
    sources: &[(&str, &SourceDeliveries)],
    now: DateTime<Utc>,
) {
    exposition.family(OLDEST_DUE_AGE, Kind::Gauge, OLDEST_DUE_AGE_HELD_HELP);
    for (source, seen) in sources {
        let age = seen.oldest_due_age(now);
        exposition.sample(OLDEST_DUE_AGE, &[("source", source)], age);
    }
    let delivered: Vec<_> = sources
        .iter()
        .filter_map(|(source, seen)| seen.deliveries.last().map(|last| (source, last)))
        .collect();
    if !delivered.is_empty() {
        exposition.family(LAST_DELIVERY, Kind::Gauge, LAST_DELIVERY_HELP);
        for (source, last) in delivered {
            exposition.sample(LAST_DELIVERY, &[("source", source)], unix_seconds(last));
        }
    }
    exposition.family(DELIVERY_LATENCY, Kind::Histogram, DELIVERY_LATENCY_HELP);
    for (source, seen) in sources {
        seen.deliveries
            .latency
            .write_samples(exposition, DELIVERY_LATENCY, &[("source", source)]);
    }
}

/// Unix seconds with the fraction, as `dq_last_delivery_timestamp_seconds` shows a time.
pub fn unix_seconds(time: DateTime<Utc>) -> f64 {
    time.timestamp_micros() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_histogram_writes_cumulative_buckets_that_end_at_its_count() {
        static BOUNDS: [f64; 3] = [0.1, 1.0, 60.0];
        let histogram = Histogram::new(&BOUNDS);
        for seconds in [0.05, 0.1, 0.5, 30.0, 7200.0, -3.0] {
            histogram.observe(seconds);
        }
        let mut exposition = Exposition::new();
        histogram.write(&mut exposition, "x_seconds", "Some latency.");
        assert_eq!(
            exposition.finish(),
            "# HELP x_seconds Some latency.\n# TYPE x_seconds histogram\n\
             x_seconds_bucket{le=\"0.1\"} 3\nx_seconds_bucket{le=\"1\"} 4\n\
             x_seconds_bucket{le=\"60\"} 5\nx_seconds_bucket{le=\"+Inf\"} 6\n\
             x_seconds_sum 7230.65\nx_seconds_count 6\n"
        );
    }

    #[test]
    fn a_delivery_counts_from_creation_and_label_values_are_escaped() {
        let histogram = Histogram::delivery_latency();
        let created = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        histogram.observe_delivery(created, created + chrono::Duration::milliseconds(1500));
        let mut exposition = Exposition::new();
        histogram.write(&mut exposition, DELIVERY_LATENCY, DELIVERY_LATENCY_HELP);
        exposition
            .family("y_total", Kind::Counter, "Odd labels.")
            .sample("y_total", &[("source", "a\"b\\c\nd")], 2.0);
        let text = exposition.finish();
        assert!(text.contains("dq_delivery_latency_seconds_bucket{le=\"1\"} 0\n"));
        assert!(text.contains("dq_delivery_latency_seconds_bucket{le=\"2.5\"} 1\n"));
        assert!(text.contains("dq_delivery_latency_seconds_sum 1.5\n"));
        assert!(
            text.contains("y_total{source=\"a\\\"b\\\\c\\nd\"} 2\n"),
            "{text}"
        );
        assert_eq!(
            unix_seconds(created + chrono::Duration::milliseconds(250)),
            1_795_780_800.25
        );
    }
}
