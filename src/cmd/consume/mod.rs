//! `dq consume`: one thread per source claims due events (HTTP sources through `client`, or
//! the local database through the store), groups them into messages, hands each message to
//! the one shared Discord `Sink`, and marks every event on the source it came from. A slow or
//! broken source only ever delays itself.

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use serde_json::json;

use super::{stop_on_signals, Settings, UsageError};
use crate::api::{EventsQuery, FailedBody};
use crate::cli::{ConsumeArgs, Lang as CliLang};
use crate::client::{HttpSource, SourceConfig};
use crate::discord::{self, Outcome, RetryPlan, Sink, Target};
use crate::event::Event;
use crate::render::{self, Lang, RenderOptions};
use crate::secret::mask_url;
use crate::store::{Claim, Failure, Policy, Store};

/// Events claimed at a time: one message's worth, so leases stay short and a failure costs
/// few attempts.
const CLAIM_LIMIT: i64 = 10;
/// With `--dry-run`, sources are only read (lease 0), so read as many as the API allows.
const DRY_RUN_LIMIT: i64 = EventsQuery::LIMIT_MAX;
/// A Discord request that takes longer than this is a retryable failure.
const DISCORD_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the local database is checked for due events while long-polling it.
const LOCAL_POLL: Duration = Duration::from_millis(50);

pub fn run(settings: &Settings, args: ConsumeArgs) -> Result<ExitCode> {
    let stop = stop_on_signals()?;

    let lang = match args.lang {
        CliLang::Es => Lang::Es,
        CliLang::En => Lang::En,
    };
    let target = if args.dry_run {
        None
    } else if let Some(url) = &args.webhook {
        let url = discord::webhook_url(url, &args.discord_api)
            .map_err(|error| UsageError(format!("--webhook: {error}")))?;
        Some(Target::Webhook { url })
    } else if let Some(token) = &args.bot_token {
        Some(Target::Bot {
            token: token.trim().to_string(),
            api: args.discord_api.trim_end_matches('/').to_string(),
        })
    } else {
        return Err(UsageError(format!(
            "nothing to deliver to: set {} or {}, or use --dry-run (dq setup checks and saves \
             a webhook)",
            settings.config.hint("webhook"),
            settings.config.hint("bot-token")
        ))
        .into());
    };
    let by_user = matches!(target, Some(Target::Bot { .. }));
    let sink = target.map(|target| {
        Arc::new(Mutex::new(Sink::new(
            target,
            DISCORD_TIMEOUT,
            Arc::clone(&stop),
        )))
    });

    let mut sources: Vec<SourceSpec> = args
        .sources
        .iter()
        .map(|url| url.trim())
        .filter(|url| !url.is_empty())
        .map(|url| SourceSpec::Http(url.to_string()))
        .collect();
    if sources.is_empty() {
        // Open it now so a bad path is reported before anything starts.
        settings.open_store()?;
        sources.push(SourceSpec::Local);
    }

    let metrics = Arc::new(Metrics::default());
    let listen = args.listen.clone().or_else(|| {
        let on_render = std::env::var_os("RENDER").is_some_and(|value| !value.is_empty());
        let port = std::env::var("PORT")
            .ok()
            .filter(|port| !port.trim().is_empty());
        port.filter(|_| on_render)
            .map(|port| format!("0.0.0.0:{}", port.trim()))
    });
    let options = Options {
        once: args.once,
        dry_run: args.dry_run,
        wait: Duration::from_secs(args.wait),
        poll: Duration::from_secs(args.poll),
        lease: Duration::from_secs(args.lease),
        render: RenderOptions {
            lang,
            mention: args.mention && !by_user,
            ..RenderOptions::default()
        },
        by_user,
    };

    // Before any worker starts, so a port already taken stops consume with nothing claimed.
    if let Some(address) = listen {
        serve_health(&address, Arc::clone(&metrics))?;
    }
    // Local mode applies the server's rules itself, so it takes serve's backoff setting too.
    let local_policy = Policy {
        backoff_base: args.retry_backoff,
        backoff_cap: Policy::default().backoff_cap.max(args.retry_backoff),
        ..settings.policy
    };
    let in_flight = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for spec in sources {
        let source: Box<dyn Source> = match spec {
            SourceSpec::Http(url) => Box::new(Http(HttpSource::new(SourceConfig {
                url,
                token: args.token.clone().filter(|token| !token.is_empty()),
                headers: args.headers.clone(),
            }))),
            SourceSpec::Local => Box::new(Local {
                store: Store::open(&settings.db_path, local_policy, settings.busy_timeout)?,
                name: format!("local:{}", settings.db_path.display()),
                stop: Arc::clone(&stop),
            }),
        };
        let counters = metrics.add(source.name());
        let worker = Worker {
            source,
            sink: sink.clone(),
            options: options.clone(),
            stop: Arc::clone(&stop),
            in_flight: Arc::clone(&in_flight),
            counters,
            unmarked: Vec::new(),
            seen: HashSet::new(),
        };
        let handle = thread::Builder::new()
            .name("source".into())
            .spawn(move || worker.run())
            .context("starting a source thread")?;
        workers.push(handle);
    }

    // Wait for the workers (with --once), or for a signal; then for the send in flight.
    loop {
        if workers.iter().all(|worker| worker.is_finished()) {
            break;
        }
        if stop.load(Ordering::SeqCst) {
            // A worker counts itself in flight before it checks `stop`, so once this reads
            // zero no new send can start; workers blocked in a long poll are left behind.
            while in_flight.load(Ordering::SeqCst) > 0
                && !workers.iter().all(|worker| worker.is_finished())
            {
                thread::sleep(Duration::from_millis(20));
            }
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    for worker in workers.into_iter().filter(|worker| worker.is_finished()) {
        let _ = worker.join();
    }
    let totals = metrics.totals();
    eprintln!(
        "dq: consume {}: {} delivered, {} failed, {} retried, {} rate limited (429), {} source \
         errors in {:.1}s",
        if stop.load(Ordering::SeqCst) {
            "stopped"
        } else {
            "done"
        },
        totals.delivered,
        totals.failed,
        totals.retried,
        totals.rate_limited,
        totals.source_errors,
        started.elapsed().as_secs_f64()
    );
    if args.once && (totals.failed > 0 || totals.source_errors > 0 || totals.unmarked > 0) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

enum SourceSpec {
    Http(String),
    Local,
}

#[derive(Clone)]
struct Options {
    once: bool,
    dry_run: bool,
    wait: Duration,
    poll: Duration,
    lease: Duration,
    render: RenderOptions,
    by_user: bool,
}

/// Where events come from and where their outcome is recorded.
trait Source: Send {
    /// For logs and metrics: never a secret.
    fn name(&self) -> String;
    /// Identifies the source in message nonces (may be secret; never logged).
    fn key(&self) -> String;
    /// Due events, waiting up to `wait` for one. `lease` zero only reads.
    fn claim(&mut self, limit: i64, lease: Duration, wait: Duration) -> Result<Vec<Event>>;
    fn processed(&mut self, id: i64) -> Result<()>;
    fn failed(&mut self, id: i64, failure: &FailedBody) -> Result<()>;
}

struct Http(HttpSource);

impl Source for Http {
    fn name(&self) -> String {
        self.0.name().to_string()
    }

    fn key(&self) -> String {
        self.0.url().to_string()
    }

    fn claim(&mut self, limit: i64, lease: Duration, wait: Duration) -> Result<Vec<Event>> {
        self.0.claim(&EventsQuery {
            limit,
            max_attempts: None,
            lease: lease.as_secs(),
            wait: wait.as_secs(),
        })
    }

    fn processed(&mut self, id: i64) -> Result<()> {
        self.0.mark_processed(id)
    }

    fn failed(&mut self, id: i64, failure: &FailedBody) -> Result<()> {
        self.0.mark_failed(id, failure)
    }
}

/// The local database, with the same rules the server applies.
struct Local {
    store: Store,
    name: String,
    stop: Arc<AtomicBool>,
}

impl Source for Local {
    fn name(&self) -> String {
        "local".into()
    }

    fn key(&self) -> String {
        self.name.clone()
    }

    fn claim(&mut self, limit: i64, lease: Duration, wait: Duration) -> Result<Vec<Event>> {
        let deadline = Instant::now() + wait;
        loop {
            let now = Utc::now();
            // `next_due` only reads, so waiting costs no write lock.
            let due = self.store.next_due()?.is_some_and(|due| due <= now);
            if due {
                let events = self.store.claim(Claim { limit, lease }, now)?;
                if !events.is_empty() || lease.is_zero() {
                    return Ok(events);
                }
            }
            if Instant::now() >= deadline || self.stop.load(Ordering::SeqCst) {
                return Ok(Vec::new());
            }
            thread::sleep(LOCAL_POLL);
        }
    }

    fn processed(&mut self, id: i64) -> Result<()> {
        self.store.mark_processed(id, Utc::now()).map(|_| ())
    }

    fn failed(&mut self, id: i64, failure: &FailedBody) -> Result<()> {
        let failure = Failure {
            message: failure.error_message.clone(),
            retryable: failure.retryable.unwrap_or(true),
            retry_after: failure
                .retry_after
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .map(Duration::from_secs_f64),
        };
        self.store.mark_failed(id, &failure, Utc::now()).map(|_| ())
    }
}

/// A mark that could not be recorded yet (the source went away after the send).
enum Mark {
    Processed(i64),
    Failed(i64, FailedBody),
}

struct Worker {
    source: Box<dyn Source>,
    sink: Option<Arc<Mutex<Sink>>>,
    options: Options,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    counters: Arc<Counters>,
    /// Marks to record before anything else: the events are delivered (or failed) already.
    unmarked: Vec<Mark>,
    /// With --dry-run, events already printed.
    seen: HashSet<i64>,
}

impl Worker {
    fn run(mut self) {
        let name = self.source.name();
        let mut backoff = Duration::ZERO;
        loop {
            if self.stopping() {
                break;
            }
            if let Some(until) = self.sink_paused() {
                if self.options.once {
                    eprintln!("dq: {name}: discord keeps failing; stopping this --once run");
                    self.counters.source_errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                self.sleep(until.saturating_duration_since(Instant::now()));
                continue;
            }
            if !self.flush_marks() {
                backoff = grow(backoff);
                if self.options.once && backoff > Duration::from_secs(8) {
                    break;
                }
                self.sleep(backoff);
                continue;
            }
            let (limit, lease) = if self.options.dry_run {
                (DRY_RUN_LIMIT, Duration::ZERO)
            } else {
                (CLAIM_LIMIT, self.options.lease)
            };
            let wait = if self.options.once {
                Duration::ZERO
            } else {
                self.options.wait
            };
            let asked = Instant::now();
            let events = match self.source.claim(limit, lease, wait) {
                Ok(events) => {
                    if !backoff.is_zero() {
                        eprintln!("dq: {name}: source is answering again");
                    }
                    backoff = Duration::ZERO;
                    events
                }
                Err(error) => {
                    self.counters.source_errors.fetch_add(1, Ordering::Relaxed);
                    backoff = grow(backoff);
                    if self.options.once {
                        eprintln!("dq: {}", one_line(&error));
                        break;
                    }
                    eprintln!(
                        "dq: {}; retrying in {}s",
                        one_line(&error),
                        backoff.as_secs()
                    );
                    self.sleep(backoff);
                    continue;
                }
            };
            let events: Vec<Event> = if self.options.dry_run {
                events
                    .into_iter()
                    .filter(|event| self.seen.insert(event.id))
                    .collect()
            } else {
                events
            };
            if events.is_empty() {
                if self.options.once {
                    break;
                }
                // A source that answers at once with nothing does not long-poll (the original
                // API): fall back to polling it.
                if wait.is_zero() || asked.elapsed() < wait / 2 {
                    self.sleep(self.options.poll);
                }
                continue;
            }
            if self.options.dry_run {
                self.print(events);
                if self.options.once {
                    break;
                }
                continue;
            }
            self.deliver(events, asked);
        }
        // Give marks a last chance before leaving: each one saves a repeated delivery.
        for _ in 0..3 {
            if self.flush_marks() {
                break;
            }
            thread::sleep(Duration::from_millis(500));
        }
        self.counters
            .unmarked
            .fetch_add(self.unmarked.len() as u64, Ordering::Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn sink_paused(&self) -> Option<Instant> {
        let sink = self.sink.as_ref()?;
        let sink = sink.lock().ok()?;
        sink.paused_until()
    }

    fn sleep(&self, duration: Duration) {
        let end = Instant::now() + duration;
        while !self.stopping() {
            let now = Instant::now();
            if now >= end {
                return;
            }
            thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    fn print(&self, events: Vec<Event>) {
        let mut out = String::new();
        for group in render::plan(events, self.options.by_user, &self.options.render) {
            let body = render::render(&group, &self.options.render);
            out.push_str(&body.to_string());
            out.push('\n');
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush());
    }

    fn deliver(&mut self, events: Vec<Event>, claimed_at: Instant) {
        let Some(sink) = self.sink.clone() else {
            return;
        };
        let name = self.source.name();
        let key = self.source.key();
        // Retries in place stop in time for the marks to land within the lease, and nothing
        // is sent once the lease is nearly over (another consumer may take the events then).
        let deadline = claimed_at + self.options.lease / 2;
        let lease_end = claimed_at + self.options.lease.mul_f64(0.9);
        for group in render::plan(events, self.options.by_user, &self.options.render) {
            // Count in flight *before* looking at `stop`: see `run`.
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            if self.stopping() {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let ids: Vec<i64> = group.iter().map(|event| event.id).collect();
            let body = render::render(&group, &self.options.render);
            let nonce = render::nonce(&key, &ids);
            let user_id = group
                .first()
                .map(|event| event.user_id.clone())
                .unwrap_or_default();
            let started = Instant::now();
            let delivery = match sink.lock() {
                Ok(mut sink) => {
                    let plan = RetryPlan::standard(deadline, lease_end);
                    sink.deliver(&body, &user_id, &nonce, &plan)
                }
                Err(_) => {
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            };
            let took = started.elapsed();
            let counters = &self.counters;
            counters
                .retried
                .fetch_add(u64::from(delivery.retries), Ordering::Relaxed);
            counters
                .rate_limited
                .fetch_add(u64::from(delivery.rate_limited), Ordering::Relaxed);
            let id_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            if delivery.interrupted {
                eprintln!(
                    "dq: events {id_list} from {name} were not sent (stopping, or their lease \
                     would end first); they come back when their lease ends"
                );
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let marks: Vec<Mark> = match &delivery.outcome {
                Outcome::Delivered { .. } => {
                    counters
                        .delivered
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    eprintln!(
                        "dq: delivered events {id_list} from {name} in {} ms{}",
                        took.as_millis(),
                        retry_note(&delivery)
                    );
                    ids.iter().map(|id| Mark::Processed(*id)).collect()
                }
                outcome => {
                    let permanent = matches!(outcome, Outcome::Permanent { .. });
                    counters
                        .failed
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    let reason = outcome.describe();
                    eprintln!(
                        "dq: failed events {id_list} from {name} ({}) in {} ms{}: {reason}",
                        if permanent { "permanent" } else { "will retry" },
                        took.as_millis(),
                        retry_note(&delivery)
                    );
                    ids.iter()
                        .map(|id| {
                            Mark::Failed(
                                *id,
                                FailedBody {
                                    error_message: reason.clone(),
                                    retryable: Some(!permanent),
                                    retry_after: None,
                                },
                            )
                        })
                        .collect()
                }
            };
            self.unmarked.extend(marks);
            self.flush_marks();
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Records pending marks in order; false when the source refused one (kept for later).
    fn flush_marks(&mut self) -> bool {
        while let Some(mark) = self.unmarked.first() {
            let result = match mark {
                Mark::Processed(id) => self.source.processed(*id),
                Mark::Failed(id, body) => self.source.failed(*id, body),
            };
            if let Err(error) = result {
                let name = self.source.name();
                eprintln!(
                    "dq: {name}: could not record the outcome of {} event(s) yet: {}",
                    self.unmarked.len(),
                    one_line(&error)
                );
                return false;
            }
            self.unmarked.remove(0);
        }
        true
    }
}

fn retry_note(delivery: &discord::Delivery) -> String {
    let mut note = String::new();
    if delivery.retries > 0 {
        note.push_str(&format!(" after {} retries", delivery.retries));
    }
    if delivery.rate_limited > 0 {
        note.push_str(&format!(" ({} rate limited)", delivery.rate_limited));
    }
    note
}

/// 1, 2, 4, ... 60 seconds.
fn grow(backoff: Duration) -> Duration {
    (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn one_line(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    text.replace('\n', " ")
}

/// Counters of one source, as `/metrics` shows them.
#[derive(Default)]
struct Counters {
    source: String,
    delivered: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    rate_limited: AtomicU64,
    source_errors: AtomicU64,
    unmarked: AtomicU64,
}

#[derive(Default)]
struct Metrics {
    sources: Mutex<Vec<Arc<Counters>>>,
}

#[derive(Default)]
struct Totals {
    delivered: u64,
    failed: u64,
    retried: u64,
    rate_limited: u64,
    source_errors: u64,
    unmarked: u64,
}

impl Metrics {
    fn add(&self, source: String) -> Arc<Counters> {
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

    fn totals(&self) -> Totals {
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
    fn prometheus(&self) -> String {
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

/// `/health` and `/metrics` on `address`, in a thread of its own.
fn serve_health(address: &str, metrics: Arc<Metrics>) -> Result<()> {
    let server = tiny_http::Server::http(address)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .with_context(|| format!("listening on {address}"))?;
    eprintln!(
        "dq: answering /health and /metrics on http://{}",
        server
            .server_addr()
            .to_ip()
            .map_or_else(|| mask_url(address), |address| address.to_string())
    );
    thread::Builder::new()
        .name("listen".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let path = request.url().split('?').next().unwrap_or("").to_string();
                let (status, content_type, body) = match path.as_str() {
                    "/health" | "/" | "/discord/health" => {
                        let totals = metrics.totals();
                        (
                            200,
                            "application/json",
                            json!({
                                "status": "healthy",
                                "success": true,
                                "delivered": totals.delivered,
                                "failed": totals.failed,
                            })
                            .to_string(),
                        )
                    }
                    "/metrics" => (200, "text/plain; version=0.0.4", metrics.prometheus()),
                    _ => (
                        404,
                        "application/json",
                        json!({"success": false, "error": "not found"}).to_string(),
                    ),
                };
                let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                if let Ok(header) =
                    tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
                {
                    response.add_header(header);
                }
                let _ = request.respond(response);
            }
        })
        .context("starting the health server")?;
    Ok(())
}
