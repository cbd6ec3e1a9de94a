//! `dq consume`: one thread per source claims due events (HTTP sources through `client`, or
//! the local database through the store), groups them into messages, hands each message to
//! the one shared Discord `Sink`, and marks every event on the source it came from. A slow or
//! broken source only ever delays itself.
//!
//! This file resolves the settings and starts everything; `worker` is the delivery loop of one
//! source, `metrics` what is counted, and `listen` the HTTP listener (`/health`, `/metrics`).

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{stop_on_signals, Settings, UsageError};
use crate::cli::{ConsumeArgs, Lang as CliLang};
use crate::client::{HttpSource, SourceConfig};
use crate::discord::{self, Sink, Target};
use crate::render::{Lang, RenderOptions};
use crate::store::{Policy, Store};
use listen::serve_health;
use metrics::Metrics;
use worker::{Http, Local, Source, Worker};

/// A Discord request that takes longer than this is a retryable failure.
const DISCORD_TIMEOUT: Duration = Duration::from_secs(15);

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

mod listen;
mod metrics;
mod worker;
