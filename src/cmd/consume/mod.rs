//! `dq consume`: one thread per source claims due events (HTTP sources through `client`, or
//! the local database through the store), groups them into messages, hands each message to
//! the one shared Discord `Sink`, and marks every event on the source it came from. A slow or
//! broken source only ever delays itself.
//!
//! Sources are given with `--source`, or announce themselves (`POST /sources` with the
//! `--announce-key`) and get a worker at once, or are the local database.
//!
//! This file resolves the settings and starts workers (`Consumer`); `worker` is the delivery
//! loop of one source, `registry` the sources known and how each is doing, `metrics` what is
//! counted, and `listen` the HTTP listener (`/health`, `/metrics`, `/sources`).

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{stop_signal, Settings, UsageError};
use crate::api::Announced;
use crate::cli::{ConsumeArgs, Lang as CliLang};
use crate::client::{self, HttpSource, SourceConfig};
use crate::discord::{self, Sink, Target};
use crate::render::{Lang, RenderOptions};
use crate::secret::mask_url;
use crate::store::{Policy, Store};
use crate::sync::lock;
use crate::watch::{self, Mode as WatchMode, Watch};
use metrics::Metrics;
use registry::{Bell, Entry, Full, Origin, Registration, Registry};
use worker::{Http, Local, Source, Worker};

/// A Discord request that takes longer than this is a retryable failure.
const DISCORD_TIMEOUT: Duration = Duration::from_secs(15);

pub fn run(settings: &Settings, args: ConsumeArgs) -> Result<ExitCode> {
    // First, so a template that does not compile stops consume before anything is claimed.
    let templates = super::templates(&settings.config)?;
    let stop = Arc::new(AtomicBool::new(false));
    // The main thread sleeps until a signal or a worker's end rings this: waiting costs no
    // wake-ups.
    let wake = Arc::new(Bell::default());
    watch_signals(&stop, &wake)?;

    let lang = match args.lang {
        CliLang::Es => Lang::Es,
        CliLang::En => Lang::En,
    };
    let (sink, by_user) = sink(settings, &args, &stop)?;

    let statics = static_sources(&args)?;
    let announce_key = announce_key(args.announce_key.as_deref(), args.once)?;
    let port = std::env::var("PORT").ok();
    let listen = listen_address(args.listen.as_deref(), port.as_deref())?;
    if announce_key.is_some() && listen.is_none() {
        return Err(UsageError(
            "--announce-key needs an address to accept announcements on: set --listen ADDR \
             (DQ_LISTEN), or PORT as hosting platforms do"
                .into(),
        )
        .into());
    }
    // With neither sources nor announcements, deliver from the local database. Open it now so
    // a bad path is reported before anything starts.
    let local = statics.is_empty() && announce_key.is_none();
    if local {
        settings.open_store()?;
        if port.as_deref().is_some_and(|port| !port.trim().is_empty()) {
            eprintln!(
                "dq: note: no --source and no --announce-key, so consume delivers from the local \
                 database {}; on a hosting platform, set DQ_ANNOUNCE_KEY (or DQ_SOURCES)",
                settings.db_path.display()
            );
        }
    }

    let options = Options {
        once: args.once,
        dry_run: args.dry_run,
        wait: Duration::from_secs(args.wait),
        poll: Duration::from_secs(args.poll),
        lease: Duration::from_secs(args.lease),
        render: RenderOptions {
            lang,
            mention: args.mention && !by_user,
            templates,
        },
        by_user,
    };
    let max_sources = usize::from(args.max_sources).max(statics.len());
    let consumer = Arc::new(Consumer {
        registry: Arc::new(Registry::new(max_sources, args.forget_after)),
        metrics: Arc::new(Metrics::default()),
        agent: client::agent(max_sources),
        sink,
        options,
        stop: Arc::clone(&stop),
        in_flight: Arc::new(AtomicUsize::new(0)),
        workers: Mutex::new(Vec::new()),
        running: Arc::new(AtomicUsize::new(0)),
        wake: Arc::clone(&wake),
        allow_http: args.allow_http_sources,
    });

    // Before any worker starts, so a port already taken stops consume with nothing claimed.
    let announcing = announce_key.is_some();
    if let Some(address) = listen {
        listen::start(&address, Arc::clone(&consumer), announce_key)?;
    }
    let started = Instant::now();
    for config in statics {
        consumer.start_static(config)?;
    }
    if local {
        // Local mode applies the server's rules itself, so it takes serve's backoff setting.
        let policy = Policy {
            backoff_base: args.retry_backoff,
            backoff_cap: Policy::default().backoff_cap.max(args.retry_backoff),
            ..settings.policy
        };
        consumer.start_local(settings, policy)?;
    }
    if announcing && consumer.registry.entries().is_empty() {
        eprintln!("dq: waiting for sources to announce themselves (POST /sources)");
    }

    // Wait for the workers (with --once), or for a signal; then for the send in flight.
    loop {
        if !announcing && consumer.all_finished() {
            break;
        }
        if stop.load(Ordering::SeqCst) {
            consumer.registry.ring_all();
            // A worker counts itself in flight before it checks `stop`, so once this reads
            // zero no new send can start; workers blocked in a long poll are left behind.
            while consumer.in_flight.load(Ordering::SeqCst) > 0 && !consumer.all_finished() {
                thread::sleep(Duration::from_millis(20));
            }
            break;
        }
        consumer.join_finished();
        wake.wait(Duration::from_secs(3600));
    }
    consumer.join_finished();
    let totals = consumer.metrics.totals();
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

/// Sets `stop` and rings `wake` on SIGTERM or SIGINT, from a thread that blocks on the signal
/// pipe (a second signal while stopping ends the process at once).
fn watch_signals(stop: &Arc<AtomicBool>, wake: &Arc<Bell>) -> Result<()> {
    let mut signals = stop_signal()?;
    let (stop, wake) = (Arc::clone(stop), Arc::clone(wake));
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            // Any end of the read (a signal's byte, or an error) means stop.
            let _ = std::io::Read::read(&mut signals, &mut byte);
            stop.store(true, Ordering::SeqCst);
            wake.ring();
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// The one Discord sink every worker shares (none with `--dry-run`), and whether it sends
/// direct messages (events are then grouped by user).
fn sink(
    settings: &Settings,
    args: &ConsumeArgs,
    stop: &Arc<AtomicBool>,
) -> Result<(Option<Arc<Mutex<Sink>>>, bool)> {
    let target = if args.dry_run {
        None
    } else if let Some(url) = &args.discord.webhook {
        let url = discord::webhook_url(url, &args.discord.discord_api)
            .map_err(|error| UsageError(format!("--webhook: {error}")))?;
        Some(Target::Webhook { url })
    } else if let Some(token) = &args.discord.bot_token {
        Some(Target::Bot {
            token: token.trim().to_string(),
            api: args.discord.discord_api.trim_end_matches('/').to_string(),
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
            Arc::clone(stop),
        )))
    });
    Ok((sink, by_user))
}

/// The `--source` sources, each with its own token and headers or else `--token` and
/// `--header`.
fn static_sources(args: &ConsumeArgs) -> Result<Vec<SourceConfig>, UsageError> {
    let default_token = args
        .token
        .as_deref()
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let mut sources: Vec<SourceConfig> = Vec::new();
    for text in args.sources.iter().filter(|text| !text.trim().is_empty()) {
        let mut source =
            client::parse_source(text).map_err(|error| UsageError(format!("--source: {error}")))?;
        if source.token.is_none() {
            source.token = default_token.map(str::to_string);
        }
        let own: Vec<String> = source
            .headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        let defaults = args
            .headers
            .iter()
            .filter(|(name, _)| !own.contains(&name.to_ascii_lowercase()))
            .cloned();
        source.headers = defaults.chain(source.headers).collect();
        let base = client::base_url(&source.url);
        if sources
            .iter()
            .any(|known| client::base_url(&known.url) == base)
        {
            eprintln!(
                "dq: source {} is given twice; delivering from it once",
                mask_url(&base)
            );
            continue;
        }
        sources.push(source);
    }
    Ok(sources)
}

/// `--announce-key`: none (an empty value too, as `DQ_ANNOUNCE_KEY=` in a script), or the key.
fn announce_key(key: Option<&str>, once: bool) -> Result<Option<String>, UsageError> {
    let Some(key) = key.map(str::trim).filter(|key| !key.is_empty()) else {
        return Ok(None);
    };
    if once {
        return Err(UsageError(
            "--once cannot take announcements (--announce-key): announced sources come and go \
             while consume runs"
                .into(),
        ));
    }
    if key.len() < 16 {
        eprintln!(
            "dq: warning: --announce-key is shorter than 16 characters; whoever guesses it can \
             make this consumer deliver from their server"
        );
    }
    Ok(Some(key.to_string()))
}

/// `--listen`, else `0.0.0.0:$PORT` wherever a hosting platform sets `PORT` (Render, Railway,
/// Fly, Heroku, Cloud Run all do), else none.
fn listen_address(listen: Option<&str>, port: Option<&str>) -> Result<Option<String>, UsageError> {
    if let Some(listen) = listen.map(str::trim).filter(|listen| !listen.is_empty()) {
        return Ok(Some(listen.to_string()));
    }
    let Some(port) = port.map(str::trim).filter(|port| !port.is_empty()) else {
        return Ok(None);
    };
    match port.parse::<u16>() {
        Ok(number) if number > 0 => Ok(Some(format!("0.0.0.0:{number}"))),
        _ => Err(UsageError(format!(
            "PORT={port:?} is not a port number (1-65535); set --listen ADDR to choose where \
             to listen"
        ))),
    }
}

/// What every source's worker shares, and how a new one starts: at launch for `--source` and
/// the local database, and from the listener's thread when a source announces itself.
struct Consumer {
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    /// One HTTP agent for every source: one connection pool, one TLS configuration.
    agent: ureq::Agent,
    sink: Option<Arc<Mutex<Sink>>>,
    options: Options,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Workers not ended yet; each rings `wake` as it ends.
    running: Arc<AtomicUsize>,
    wake: Arc<Bell>,
    allow_http: bool,
}

/// Why an announcement was not taken.
enum Refusal {
    /// 400: the body or the URL is not acceptable (the message says why, never the token).
    Invalid(String),
    /// 503: the registry holds `--max-sources` sources already.
    Full(usize),
    /// 503: its worker could not be started (out of threads or memory).
    Unavailable(String),
}

impl Consumer {
    /// Registers or refreshes an announced source (already checked by the listener, but for
    /// its URL); a new one starts delivering at once, whether or not it answers yet.
    fn announce(
        &self,
        url: &str,
        token: Option<String>,
        name: String,
    ) -> Result<Announced, Refusal> {
        let url = client::normalize_source_url(url, self.allow_http).map_err(Refusal::Invalid)?;
        let name = if name.is_empty() {
            url.split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or("")
                .to_string()
        } else {
            name
        };
        let (status, entry) = match self.registry.announce(&url, token, name) {
            Err(Full { limit }) => return Err(Refusal::Full(limit)),
            Ok(Registration::Refreshed(entry, token_changed)) => {
                if token_changed {
                    eprintln!(
                        "dq: {} ({}): announced a new token; using it from now on",
                        entry.label,
                        entry.name()
                    );
                }
                ("refreshed", entry)
            }
            Ok(Registration::New(entry)) => {
                let config = SourceConfig {
                    url: url.clone(),
                    // The worker takes the announced token up from the entry.
                    token: None,
                    headers: Vec::new(),
                };
                let source = HttpSource::with_agent(config, self.agent.clone());
                let source = Box::new(Http::new(source, Arc::clone(&entry)));
                if let Err(error) = self.start(Arc::clone(&entry), source) {
                    self.registry.remove(&entry);
                    return Err(Refusal::Unavailable(format!("{error:#}")));
                }
                eprintln!(
                    "dq: {} ({}): announced itself; delivering from it",
                    entry.label,
                    entry.name()
                );
                ("registered", entry)
            }
        };
        Ok(Announced {
            success: true,
            status: status.into(),
            url: entry.label.clone(),
            name: entry.name(),
        })
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn start_static(&self, config: SourceConfig) -> Result<()> {
        let source = HttpSource::with_agent(config, self.agent.clone());
        let entry = self.registry.add(Entry::new(
            source.url().to_string(),
            source.name().to_string(),
            Origin::Static,
            String::new(),
        ));
        let source = Box::new(Http::new(source, Arc::clone(&entry)));
        self.start(entry, source)
    }

    fn start_local(&self, settings: &Settings, policy: Policy) -> Result<()> {
        let name = format!("local:{}", settings.db_path.display());
        let entry = self.registry.add(Entry::new(
            name.clone(),
            "local".into(),
            Origin::Local,
            String::new(),
        ));
        let watch = Watch::start(&settings.db_path);
        if let WatchMode::Polling(reason) = watch.mode() {
            eprintln!(
                "dq: note: cannot watch the database for changes ({reason}); looking every {}s",
                watch::FALLBACK_INTERVAL.as_secs()
            );
        }
        let source = Box::new(Local {
            store: Store::open(&settings.db_path, policy, settings.busy_timeout)?,
            name,
            watch,
        });
        self.start(entry, source)
    }

    /// Starts the worker of `entry` on a thread of its own.
    fn start(&self, entry: Arc<Entry>, source: Box<dyn Source>) -> Result<()> {
        self.metrics.add(&entry.counters);
        let worker = Worker {
            source,
            sink: self.sink.clone(),
            options: self.options.clone(),
            stop: Arc::clone(&self.stop),
            in_flight: Arc::clone(&self.in_flight),
            entry: Arc::clone(&entry),
            registry: Arc::clone(&self.registry),
            metrics: Arc::clone(&self.metrics),
            unmarked: Vec::new(),
            seen: HashSet::new(),
            failing: None,
        };
        let (running, wake) = (Arc::clone(&self.running), Arc::clone(&self.wake));
        running.fetch_add(1, Ordering::SeqCst);
        let handle = thread::Builder::new().name("source".into()).spawn(move || {
            worker.run();
            running.fetch_sub(1, Ordering::SeqCst);
            wake.ring();
        });
        match handle {
            Ok(handle) => {
                lock(&self.workers).push(handle);
                Ok(())
            }
            Err(error) => {
                self.running.fetch_sub(1, Ordering::SeqCst);
                self.metrics.retire(&entry.counters);
                Err(error).context("starting a source thread")
            }
        }
    }

    fn all_finished(&self) -> bool {
        self.running.load(Ordering::SeqCst) == 0
    }

    /// Joins the workers that ended (forgotten sources, or every one with `--once`).
    fn join_finished(&self) {
        let finished: Vec<JoinHandle<()>> = {
            let mut workers = lock(&self.workers);
            let (finished, running) = std::mem::take(&mut *workers)
                .into_iter()
                .partition(JoinHandle::is_finished);
            *workers = running;
            finished
        };
        for worker in finished {
            let _ = worker.join();
        }
    }
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

mod listen;
mod metrics;
mod registry;
mod worker;
