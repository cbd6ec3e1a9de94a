//! `dq publish`: turn flags (or stdin lines) into events and store them durably.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{print, Settings, UsageError};
use crate::cli::{CodespaceAction, MinecraftState, PublishArgs, PublishKind};
use crate::discord::{self, Outcome, RetryPlan, Sink, Target};
use crate::event::{self, Event, NewEvent, Presentation, ValidEvent};
use crate::render::{self, Lang, RenderOptions};

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
    // Completed and validated one by one as they are read, so that a large batch holds
    // only serialized payloads; an error names the stdin line it came from.
    let timestamp = event::format_timestamp(now);
    let finish = |line: Option<usize>, mut event: NewEvent| {
        event.complete_with(common.codespace.as_deref(), &timestamp);
        event.into_valid().map_err(|error| match line {
            Some(line) => UsageError(format!("line {line}: {error}")),
            None => UsageError(error.to_string()),
        })
    };
    let presentation = common.presentation.presentation();
    let events: Vec<ValidEvent> = match args.kind {
        PublishKind::Batch => read_batch(
            std::io::stdin().lock(),
            &common.user_id,
            &presentation,
            finish,
        )?,
        kind => vec![finish(
            None,
            NewEvent {
                event_type: event_type(&kind),
                payload: payload(kind),
                user_id: common.user_id.clone(),
                dedup_key: common.dedup_key.clone(),
                presentation,
            },
        )?],
    };
    let stored = settings.open_store().and_then(|mut store| {
        store
            .publish_valid(&events, common.dedup_window, now)
            .with_context(|| format!("storing in {}", settings.db_path.display()))
    });
    let published = match stored {
        Ok(published) => published,
        Err(error) => return send_directly(settings, &events, error, now),
    };
    let mut out = String::new();
    for item in &published {
        if settings.json {
            out.push_str(&json!({ "id": item.id, "duplicate": item.duplicate }).to_string());
        } else {
            out.push_str(&item.id.to_string());
        }
        out.push('\n');
    }
    print(&out)?;
    // The process exits next and the OS takes the memory back at once; freeing a large
    // batch's events one by one would cost a tenth of its time.
    std::mem::forget(events);
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

/// Reads newline-delimited JSON events; blank lines are skipped, a bad line is named. The
/// user id and presentation flags fill in what a line does not say.
fn read_batch(
    mut input: impl Read,
    default_user_id: &str,
    default_presentation: &Presentation,
    finish: impl Fn(Option<usize>, NewEvent) -> Result<ValidEvent, UsageError>,
) -> Result<Vec<ValidEvent>> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .context("reading events from stdin")?;
    let text =
        String::from_utf8(bytes).map_err(|_| UsageError("stdin is not valid UTF-8".into()))?;
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_number = index + 1;
        let mut event: NewEvent = serde_json::from_str(line).map_err(|error| {
            UsageError(format!(
                "line {line_number}: not an event ({{\"event_type\", \"payload\", \
                 \"user_id\"?, \"dedup_key\"?, \"title\"?, \"body\"?, \"level\"?, \
                 \"color\"?, \"url\"?}}): {error}"
            ))
        })?;
        if event.user_id.is_empty() {
            event.user_id = default_user_id.into();
        }
        event.presentation = event.presentation.or(default_presentation);
        events.push(finish(Some(line_number), event)?);
    }
    Ok(events)
}
