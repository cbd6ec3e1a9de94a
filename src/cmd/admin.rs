//! The maintenance commands on the local database: `stats`, `failed`, `retry`, `cleanup`.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{print, print_json, table, Settings};
use crate::cli::{CleanupArgs, FailedArgs, RetryArgs};
use crate::secret::mask_url;

pub fn stats(settings: &Settings) -> Result<ExitCode> {
    let store = settings.open_store()?;
    let stats = store.stats(Utc::now())?;
    let config = config(settings);
    if settings.json {
        let mut document = serde_json::to_value(stats)?;
        if let Value::Object(map) = &mut document {
            map.insert("config".into(), config);
        }
        print_json(&document)?;
        return Ok(ExitCode::SUCCESS);
    }
    let counts = [
        ("pending", stats.pending),
        ("  leased", stats.leased),
        ("  waiting", stats.waiting),
        ("processed", stats.processed),
        ("failed", stats.failed),
        ("total", stats.total),
    ];
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(name, count)| vec![name.to_string(), count.to_string()])
        .collect();
    let mut out = table(&["state", "events"], &rows);
    out.push('\n');
    let settings: Vec<Vec<String>> = config
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            let shown = match value {
                Value::String(text) => text.clone(),
                Value::Null => "-".into(),
                other => other.to_string(),
            };
            vec![key.replace('_', " "), shown]
        })
        .collect();
    out.push_str(&table(&["setting", "value"], &settings));
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// What dq sees of its configuration, every secret masked (the old `get_status()`).
fn config(settings: &Settings) -> Value {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.is_empty());
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    json!({
        "database": settings.db_path.display().to_string(),
        "max_attempts": settings.policy.max_attempts,
        "user_id_set": set("DISCORD_USER_ID"),
        "webhook": env("DISCORD_WEBHOOK_URL").map(|url| mask_url(&url)),
        "bot_token_set": set("DISCORD_BOT_TOKEN"),
        "codespace": env("CODESPACE_NAME"),
    })
}

pub fn failed(settings: &Settings, args: &FailedArgs) -> Result<ExitCode> {
    let store = settings.open_store()?;
    let events = store.failed(args.limit)?;
    if settings.json {
        let list: Vec<Value> = events
            .iter()
            .map(|event| {
                json!({
                    "id": event.id,
                    "event_type": event.event_type,
                    "attempts": event.attempts,
                    "error_message": event.error_message,
                    "created_at": event.created_at,
                    "last_attempt": event.last_attempt,
                })
            })
            .collect();
        print_json(&json!({ "count": list.len(), "events": list }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if events.is_empty() {
        print("No failed events.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            vec![
                event.id.to_string(),
                event.event_type.clone(),
                event.attempts.to_string(),
                event
                    .created_utc()
                    .map_or_else(|| "?".into(), |created| age(created, now)),
                one_line(event.error_message.as_deref().unwrap_or(""), 80),
            ]
        })
        .collect();
    print(&table(
        &["id", "type", "attempts", "age", "last error"],
        &rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub fn retry(settings: &Settings, args: &RetryArgs) -> Result<ExitCode> {
    let mut store = settings.open_store()?;
    let count = if args.all {
        store.retry_all()?
    } else {
        store.retry(&args.ids)?
    };
    if settings.json {
        print_json(&json!({ "requeued": count }))?;
    } else {
        print(&format!("Requeued {count} event(s).\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cleanup(settings: &Settings, args: &CleanupArgs) -> Result<ExitCode> {
    let mut store = settings.open_store()?;
    let before = Utc::now() - chrono::Duration::days(i64::from(args.days));
    let deleted = store.cleanup(before, args.include_failed)?;
    if settings.json {
        print_json(&json!({ "days": args.days, "deleted_count": deleted }))?;
    } else {
        print(&format!(
            "Deleted {deleted} event(s) older than {} day(s).\n",
            args.days
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `3d 4h`, `5m 2s`, `12s`: the two largest units.
fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    let units = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let parts: Vec<String> = units
        .iter()
        .scan(seconds, |left, &(size, name)| {
            let count = *left / size;
            *left %= size;
            Some((count, name))
        })
        .skip_while(|(count, _)| *count == 0)
        .take(2)
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count}{name}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// The text on one line, cut to `limit` characters with an ellipsis.
fn one_line(text: &str, limit: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= limit {
        flat
    } else {
        let cut: String = flat.chars().take(limit.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages_show_the_two_largest_units() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let ago = |seconds| age(now - chrono::Duration::seconds(seconds), now);
        assert_eq!(ago(0), "0s");
        assert_eq!(ago(12), "12s");
        assert_eq!(ago(302), "5m 2s");
        assert_eq!(ago(3 * 86_400 + 4 * 3600 + 5), "3d 4h");
        assert_eq!(ago(86_400 + 30), "1d");
    }

    #[test]
    fn errors_are_shown_on_one_short_line() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }
}
