//! `dq render`: the one message `dq consume` would send for an event given as `dq publish
//! event` takes it, with the config file's templates, printed exactly as a `dq consume
//! --dry-run` line. It is how users try a presentation or a template: nothing is stored and
//! no database is opened.

use std::process::ExitCode;

use anyhow::Result;
use chrono::Utc;

use super::{lang, print_json, templates, UsageError};
use crate::cli::RenderArgs;
use crate::config::Config;
use crate::event::{self, Event, NewEvent};
use crate::render::{self, RenderOptions};

pub fn run(args: RenderArgs, config: &Config) -> Result<ExitCode> {
    let templates = templates(config)?;
    let now = Utc::now();
    let mut new = NewEvent {
        event_type: args.event.event_type.clone(),
        payload: args.event.payload(),
        user_id: args.user_id,
        dedup_key: None,
        presentation: args.presentation.presentation(),
    };
    // The same completion and checks as `dq publish`, so what renders here would publish.
    new.complete(args.codespace.as_deref(), now);
    new.validate()
        .map_err(|error| UsageError(format!("{error:#}")))?;
    let event = Event {
        id: 0,
        user_id: new.user_id,
        event_type: new.event_type,
        payload: new.payload,
        created_at: event::format_timestamp(now),
        attempts: 0,
        last_attempt: None,
        error_message: None,
        presentation: new.presentation,
    };
    let options = RenderOptions {
        lang: lang(args.lang),
        mention: args.mention,
        templates,
    };
    print_json(&render::render(&[event], &options))?;
    Ok(ExitCode::SUCCESS)
}
