//! `dq publish`: turn flags (or stdin lines) into events and store them durably.

use std::borrow::Cow;
use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{Settings, UsageError};
use crate::cli::{CodespaceAction, MinecraftState, PublishArgs, PublishKind};
use crate::discord::{self, Outcome, RetryPlan, Sink, Target};
use crate::event::{self, Event, NewEvent, Presentation, ValidEvent};
use crate::render::{self, Lang, RenderOptions};
use crate::store::Published;

/// A batch line longer than this is refused: a payload is at most 64 KiB serialized, and a
/// bound keeps a stream without newlines from filling the memory.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// A batch is read this far (events, bytes) before the database is touched. One that ends
/// within it is validated whole before it takes the write lock, and is sent straight to
/// Discord if the database fails; a longer one streams the rest into the transaction,
/// holding the lock while it reads.
const HEAD_EVENTS: usize = 10_000;
const HEAD_BYTES: usize = 8 * 1024 * 1024;

pub fn run(settings: &Settings, args: PublishArgs) -> Result<ExitCode> {
    let common = &args.common;
    let now = Utc::now();
    let batch = matches!(args.kind, PublishKind::Batch);
    if batch && common.dedup_key.is_some() {
        return Err(UsageError(
            "--dedup-key does not apply to a batch; put \"dedup_key\" on each line".into(),
        )
        .into());
    }
    if !batch && common.dedup_key.is_none() && !common.dedup_window.is_zero() {
        return Err(UsageError("--dedup-window needs --dedup-key".into()).into());
    }
    // Completed and validated one by one as they are read; an error names the stdin line it
    // came from.
    let timestamp = event::format_timestamp(now);
    let finish = |line: Option<usize>, mut event: NewEvent| {
        event.complete_with(common.codespace.as_deref(), &timestamp);
        event.into_valid().map_err(|error| match line {
            Some(line) => UsageError(format!("line {line}: {error}")),
            None => UsageError(error.to_string()),
        })
    };
    let presentation = common.presentation.presentation();
    if batch {
        // The user id and presentation flags fill in what a line does not say.
        return publish_batch(settings, common.dedup_window, now, |line, mut event| {
            if event.user_id.is_empty() {
                event.user_id.clone_from(&common.user_id);
            }
            event.presentation = event.presentation.or(&presentation);
            finish(Some(line), event)
        });
    }
    let events = vec![finish(
        None,
        NewEvent {
            event_type: event_type(&args.kind),
            payload: payload(args.kind),
            user_id: common.user_id.clone(),
            dedup_key: common.dedup_key.clone(),
            presentation,
        },
    )?];
    let stored = settings.open_store().and_then(|mut store| {
        store
            .publish_valid(&events, common.dedup_window, now)
            .with_context(|| format!("storing in {}", settings.db_path.display()))
    });
    match stored {
        Ok(published) => print_ids(settings, published.into_iter()),
        Err(error) => send_directly(settings, &events, error, now),
    }
}

/// `dq publish batch`: stdin streamed into one transaction, so memory stays flat whatever the
/// length; a bad line anywhere stores nothing.
fn publish_batch(
    settings: &Settings,
    dedup_window: Duration,
    now: chrono::DateTime<Utc>,
    finish: impl Fn(usize, NewEvent) -> Result<ValidEvent, UsageError>,
) -> Result<ExitCode> {
    let mut lines = BatchLines::new(std::io::stdin().lock(), &finish);
    let mut head = Vec::new();
    let mut head_bytes = 0;
    while head.len() < HEAD_EVENTS && head_bytes < HEAD_BYTES {
        let Some(event) = lines.next().transpose()? else {
            break;
        };
        head_bytes += event.payload_json().len()
            + event.event_type().len()
            + event.user_id().len()
            + event.presentation_json().as_ref().map_or(0, String::len);
        head.push(event);
    }
    let whole = lines.done;
    let direct = |error: anyhow::Error| {
        if whole {
            send_directly(settings, &head, error, now)
        } else {
            Err(error.context(format!(
                "a batch of more than {HEAD_EVENTS} events is not sent straight to Discord"
            )))
        }
    };
    let mut store = match settings.open_store() {
        Ok(store) => store,
        Err(error) => return direct(error),
    };
    let mut input_failed = false;
    let rest = lines.by_ref().map(|line| {
        input_failed |= line.is_err();
        line.map(Cow::Owned)
    });
    let events = head
        .iter()
        .map(|event| Ok(Cow::Borrowed(event)))
        .chain(rest);
    match store.publish_stream(events, dedup_window, now) {
        Ok(published) => print_ids(settings, published.iter()),
        Err(error) if input_failed => Err(error),
        Err(error) => direct(error.context(format!("storing in {}", settings.db_path.display()))),
    }
}

/// One id per line, or one `{"id", "duplicate"}` document per line with `--json`.
fn print_ids(settings: &Settings, published: impl Iterator<Item = Published>) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for item in published {
        if settings.json {
            writeln!(
                out,
                "{}",
                json!({ "id": item.id, "duplicate": item.duplicate })
            )
        } else {
            writeln!(out, "{}", item.id)
        }
        .context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The old notifier's fallback: when the database cannot be written and a webhook is
/// configured (environment or config file, as `dq consume` would take it), the events go
/// straight to Discord, rendered as `dq consume` would. Success only if Discord accepted
/// every message; nothing is queued either way.
fn send_directly(
    settings: &Settings,
    events: &[ValidEvent],
    store_error: anyhow::Error,
    now: chrono::DateTime<Utc>,
) -> Result<ExitCode> {
    // Consume's settings, which publish has no flag for: environment, then file, then default.
    let setting = |key: &str| {
        settings
            .resolve(key)
            .and_then(|(values, _)| values)
            .and_then(|values| values.into_iter().next())
            .filter(|value| !value.trim().is_empty())
    };
    let Some(webhook) = setting("webhook") else {
        return Err(store_error);
    };
    let api = setting("discord-api").unwrap_or_else(|| discord::DEFAULT_API_BASE.into());
    let lang = match setting("lang").as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Es,
    };
    let url = discord::webhook_url(&webhook, &api)
        .context("the webhook (DISCORD_WEBHOOK_URL or `webhook` in the config file)")
        .with_context(|| format!("{store_error:#}"))?;
    let stored: Vec<Event> = events
        .iter()
        .map(|event| Event {
            id: 0,
            user_id: event.user_id().clone(),
            event_type: event.event_type().clone(),
            payload: serde_json::from_str(event.payload_json()).unwrap_or_default(),
            created_at: event::format_timestamp(now),
            attempts: 0,
            last_attempt: None,
            error_message: None,
            presentation: Presentation::from_json(event.presentation_json().as_deref()),
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut sink = Sink::new(Target::Webhook { url }, Duration::from_secs(15), stop);
    let options = RenderOptions {
        lang,
        // Rendered as consume would, templates included; but a template that does not
        // compile must not stop this last way out: the event then goes as built in.
        templates: super::templates(&settings.config).ok().flatten(),
        ..RenderOptions::default()
    };
    let _ = writeln!(
        std::io::stderr(),
        "dq: could not store the event ({store_error:#}); sending it straight to the Discord \
         webhook instead"
    );
    for group in render::plan(stored, false, &options) {
        let body = render::render(&group, &options);
        let deadline = Instant::now() + Duration::from_secs(20);
        let plan = RetryPlan::standard(deadline, deadline + Duration::from_secs(40));
        let delivery = sink.deliver(&body, "", "", &plan);
        if !matches!(delivery.outcome, Outcome::Delivered { .. }) {
            return Err(store_error.context(format!(
                "sending straight to the Discord webhook failed too: {}",
                delivery.outcome.describe()
            )));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "dq: Discord accepted the event (it was not queued)"
    );
    Ok(ExitCode::SUCCESS)
}

fn event_type(kind: &PublishKind) -> String {
    match kind {
        PublishKind::BackupError { .. } => event::BACKUP_ERROR.into(),
        PublishKind::BackupSuccess { .. } => event::BACKUP_SUCCESS.into(),
        PublishKind::MinecraftStatus { .. } => event::MINECRAFT_STATUS.into(),
        PublishKind::CodespaceStatus { .. } => event::CODESPACE_STATUS.into(),
        PublishKind::Event(event) => event.event_type.clone(),
        PublishKind::Message { .. } => event::MESSAGE.into(),
        PublishKind::Test { .. } => event::TEST.into(),
        PublishKind::Batch => String::new(),
    }
}

/// The payload keys of the original publisher, per type.
fn payload(kind: PublishKind) -> Map<String, Value> {
    let value = match kind {
        PublishKind::BackupError {
            error_type,
            message,
            file,
        } => {
            // Scripts pass `compression`; some already pass `backup_compression`.
            let error_type = if error_type.starts_with("backup_") {
                error_type
            } else {
                format!("backup_{error_type}")
            };
            json!({ "error_type": error_type, "error_message": message, "backup_file": file })
        }
        PublishKind::BackupSuccess {
            file,
            size_mb,
            duration,
        } => json!({ "backup_file": file, "size_mb": size_mb, "duration_seconds": duration }),
        PublishKind::MinecraftStatus {
            status,
            ip,
            port,
            players,
        } => {
            let status = match status {
                MinecraftState::Online => "online",
                MinecraftState::Offline => "offline",
                MinecraftState::Starting => "starting",
                MinecraftState::Stopping => "stopping",
            };
            json!({ "status": status, "ip": ip, "port": port, "players_online": players })
        }
        PublishKind::CodespaceStatus { action, details } => {
            let action = match action {
                CodespaceAction::Started => "started",
                CodespaceAction::Stopped => "stopped",
                CodespaceAction::Error => "error",
            };
            let details: Map<String, Value> = details.into_iter().collect();
            json!({ "action": action, "details": details })
        }
        PublishKind::Event(event) => Value::Object(event.payload()),
        PublishKind::Message { text } => json!({ "message": text }),
        PublishKind::Test { message } => json!({ "message": message }),
        PublishKind::Batch => json!({}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Newline-delimited JSON events read one at a time; blank lines are skipped, a bad line
/// is named.
struct BatchLines<R, F> {
    input: R,
    finish: F,
    line_number: usize,
    buffer: Vec<u8>,
    done: bool,
}

impl<R: BufRead, F: Fn(usize, NewEvent) -> Result<ValidEvent, UsageError>> BatchLines<R, F> {
    fn new(input: R, finish: F) -> Self {
        BatchLines {
            input,
            finish,
            line_number: 0,
            buffer: Vec::new(),
            done: false,
        }
    }

    /// The next line that is not blank, with its line ending; `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            let mut buffer = std::mem::take(&mut self.buffer);
            buffer.clear();
            let limit = u64::try_from(MAX_LINE_BYTES + 1).unwrap_or(u64::MAX);
            let read = (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut buffer)
                .context("reading events from stdin")?;
            if read == 0 {
                return Ok(None);
            }
            self.line_number += 1;
            let line_number = self.line_number;
            if buffer.len() > MAX_LINE_BYTES {
                return Err(UsageError(format!(
                    "line {line_number}: longer than {MAX_LINE_BYTES} bytes"
                ))
                .into());
            }
            let line = String::from_utf8(buffer)
                .map_err(|_| UsageError(format!("line {line_number}: stdin is not valid UTF-8")))?;
            if !line.trim().is_empty() {
                return Ok(Some(line));
            }
            // The allocation is kept for the next line.
            self.buffer = line.into_bytes();
        }
    }

    fn parse(&mut self) -> Result<Option<ValidEvent>> {
        let Some(line) = self.next_line()? else {
            return Ok(None);
        };
        let line_number = self.line_number;
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let event: NewEvent = serde_json::from_str(text).map_err(|error| {
            UsageError(format!(
                "line {line_number}: not an event ({{\"event_type\", \"payload\", \
                 \"user_id\"?, \"dedup_key\"?, \"title\"?, \"body\"?, \"level\"?, \
                 \"color\"?, \"url\"?}}): {error}"
            ))
        })?;
        self.buffer = line.into_bytes();
        Ok(Some((self.finish)(line_number, event)?))
    }
}

impl<R: BufRead, F: Fn(usize, NewEvent) -> Result<ValidEvent, UsageError>> Iterator
    for BatchLines<R, F>
{
    type Item = Result<ValidEvent>;

    /// Ends after the first error, so a caller that reads on never sees a later line.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.parse().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
