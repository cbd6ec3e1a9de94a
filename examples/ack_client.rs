//! The Rust client of `bench/ack.sh`: claim-and-ack cycles against a running `dq serve` from
//! one consumer, each request waiting for the last, through the same client code `dq consume`
//! uses (`dq::client::HttpSource`: ureq, one kept-alive connection). Python's http.client
//! spends about 0.2 ms of its own per request, as much as serve spends on a claim; this one
//! spends a few microseconds, so what it measures is serve.
//!
//! `ack_client URL SECONDS MODE...` with the token in `DQ_TOKEN`; each MODE runs for SECONDS:
//! - `N` (1..=100): claim N (`POST /discord/events/claim?limit=N&lease=60`), acknowledge
//!   them in one `POST /discord/events/ack`;
//! - `single`: claim 1, then `POST /discord/events/{id}/processed`, as consume did before the
//!   batch route.
//!
//! It prints events/s and cycles/s and the median and p99 of each request. A claim that finds
//! nothing ends the run with an error: the backlog must outlast it.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dq::api::{self, AckEvent, EventsQuery};
use dq::client::{HttpSource, SourceConfig};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, seconds, modes @ ..] = args.as_slice() else {
        bail!("usage: ack_client URL SECONDS MODE... (MODE: a batch size 1..=100, or single)");
    };
    let seconds: f64 = seconds.parse().context("SECONDS is a number")?;
    let token = std::env::var("DQ_TOKEN").ok();
    for mode in modes {
        let run = Duration::from_secs_f64(seconds);
        let figures = match mode.as_str() {
            "single" => singles(url, token.clone(), run)?,
            size => {
                let size: i64 = size.parse().context("MODE is a batch size or single")?;
                batches(url, token.clone(), size, run)?
            }
        };
        println!("{}", figures.line(mode));
    }
    Ok(())
}

struct Figures {
    events: usize,
    cycles: usize,
    elapsed: Duration,
    claims: Vec<Duration>,
    acks: Vec<Duration>,
}

impl Figures {
    fn line(mut self, mode: &str) -> String {
        let elapsed = self.elapsed.as_secs_f64();
        let what = if mode == "single" {
            "one event per cycle (claim 1, POST /discord/events/{id}/processed)".to_string()
        } else {
            format!("batches of {mode} (claim {mode}, ack {mode} in one request)")
        };
        format!(
            "{what}: {:.0} events/s ({:.0} cycles/s); claim median {} p99 {}, ack median {} p99 {}",
            self.events as f64 / elapsed,
            self.cycles as f64 / elapsed,
            millis(percentile(&mut self.claims, 0.5)),
            millis(percentile(&mut self.claims, 0.99)),
            millis(percentile(&mut self.acks, 0.5)),
            millis(percentile(&mut self.acks, 0.99)),
        )
    }
}

fn source(url: &str, token: Option<String>) -> HttpSource {
    HttpSource::new(SourceConfig {
        url: url.into(),
        token,
        headers: Vec::new(),
    })
}

fn query(limit: i64) -> EventsQuery {
    EventsQuery {
        limit,
        lease: 60,
        ..EventsQuery::default()
    }
}

/// Claims `size`, acknowledges them in one request (as `dq consume` does a message's events).
fn batches(url: &str, token: Option<String>, size: i64, run: Duration) -> Result<Figures> {
    let mut source = source(url, token);
    let mut figures = Figures::new();
    let start = Instant::now();
    while start.elapsed() < run {
        let asked = Instant::now();
        let events = source.claim(&query(size))?;
        let claimed = Instant::now();
        if events.is_empty() {
            bail!("the backlog ran out after {} events", figures.events);
        }
        let acks: Vec<AckEvent> = events
            .iter()
            .map(|event| AckEvent::processed(event.id))
            .collect();
        let (recorded, error) = source.ack(&acks);
        if let Some(error) = error {
            return Err(error);
        }
        figures.claims.push(claimed - asked);
        figures.acks.push(claimed.elapsed());
        figures.events += recorded;
        figures.cycles += 1;
    }
    figures.elapsed = start.elapsed();
    Ok(figures)
}

/// Claims one and marks it through the single-event route, one request each.
fn singles(url: &str, token: Option<String>, run: Duration) -> Result<Figures> {
    let mut source = source(url, token.clone());
    let agent = dq::client::agent(1);
    let authorization = format!("Bearer {}", token.unwrap_or_default());
    let base = url.trim_end_matches('/');
    let mut figures = Figures::new();
    let start = Instant::now();
    while start.elapsed() < run {
        let asked = Instant::now();
        let events = source.claim(&query(1))?;
        let claimed = Instant::now();
        let Some(event) = events.first() else {
            bail!("the backlog ran out after {} events", figures.events);
        };
        let path = api::event_action_path(event.id, "processed");
        let mut answer = agent
            .post(format!("{base}{path}"))
            .header("Authorization", &authorization)
            .send_empty()
            .context("marking an event processed")?;
        // Read to the end, or the connection is not kept for the next request.
        let text = answer.body_mut().read_to_string()?;
        if answer.status() != 200 {
            bail!(
                "marking event {} answered {}: {text}",
                event.id,
                answer.status()
            );
        }
        figures.claims.push(claimed - asked);
        figures.acks.push(claimed.elapsed());
        figures.events += 1;
        figures.cycles += 1;
    }
    figures.elapsed = start.elapsed();
    Ok(figures)
}

impl Figures {
    fn new() -> Figures {
        Figures {
            events: 0,
            cycles: 0,
            elapsed: Duration::ZERO,
            claims: Vec::new(),
            acks: Vec::new(),
        }
    }
}

fn percentile(times: &mut [Duration], share: f64) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    times.sort();
    let index = ((times.len() - 1) as f64 * share).round() as usize;
    times[index]
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}
