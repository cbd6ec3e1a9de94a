//! The maintenance commands on the local database: `stats`, `failed`, `retry`, `cleanup`.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{print, print_json, table, Settings};
use crate::cli::{CleanupArgs, FailedArgs, RetryArgs};
use crate::config::{Origin, Source};
use crate::event::format_timestamp;
use crate::secret::mask_url;

pub fn stats(settings: &Settings) -> Result<ExitCode> {
    let store = settings.open_store()?;
    let now = Utc::now();
    let stats = store.stats(now)?;
    if settings.json {
        let mut document = serde_json::to_value(stats)?;
        if let Value::Object(map) = &mut document {
            map.insert("config".into(), config(settings));
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
    // Leased and waiting events are the pending ones that are not due.
    let oldest_due = if stats.pending > stats.leased + stats.waiting {
        let seconds = stats.oldest_due_age_seconds as i64;
        format!("{} old", age(now - chrono::Duration::seconds(seconds), now))
    } else {
        "nothing due".into()
    };
    let last_delivery = stats.last_delivery.map_or_else(
        || "never".into(),
        |time| format!("{} ago ({})", age(time, now), format_timestamp(time)),
    );
    out.push_str(&table(
        &["delivery", "when"],
        &[
            vec!["oldest due".into(), oldest_due],
            vec!["last delivery".into(), last_delivery],
        ],
    ));
    out.push('\n');
    out.push_str(&config_table(settings));
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The settings `stats` reports, by config key.
const SHOWN: [&str; 6] = [
    "db",
    "max-attempts",
    "user-id",
    "webhook",
    "bot-token",
    "codespace",
];

/// One setting as stats shows it: secrets only as set or not, the webhook by its host (as it
/// always did; `dq config show` shows its id).
fn shown(settings: &Settings, key: &str) -> (Value, Source) {
    let (values, source) = settings.resolve(key).unwrap_or((None, Source::Default));
    let value = values
        .and_then(|values| values.into_iter().next())
        .filter(|value| !value.is_empty());
    let value = match key {
        "db" => json!(settings.db_path.display().to_string()),
        "max-attempts" => json!(settings.policy.max_attempts),
        "user-id" | "bot-token" => json!(value.is_some()),
        "webhook" => json!(value.map(|url| mask_url(&url))),
        _ => json!(value),
    };
    (value, source)
}

/// What dq sees of its configuration, every secret masked (the old `get_status()`), with the
/// keys it always had.
fn config(settings: &Settings) -> Value {
    let value = |key| shown(settings, key).0;
    let file = &settings.config.file;
    json!({
        "database": value("db"),
        "max_attempts": value("max-attempts"),
        "user_id_set": value("user-id"),
        "webhook": value("webhook"),
        "bot_token_set": value("bot-token"),
        "codespace": value("codespace"),
        "config_file": file.path.display().to_string(),
        "config_file_exists": file.exists(),
    })
}

/// The same, by config key and environment variable, with where each value comes from.
fn config_table(settings: &Settings) -> String {
    let rows: Vec<Vec<String>> = SHOWN
        .iter()
        .map(|key| {
            let (value, source) = shown(settings, key);
            let value = match value {
                Value::Bool(true) => "set".into(),
                Value::Bool(false) | Value::Null => "-".into(),
                Value::String(text) => text,
                other => other.to_string(),
            };
            let env = settings
                .config
                .setting(key)
                .map_or_else(String::new, |setting| setting.env.clone());
            vec![key.to_string(), env, value, source.to_string()]
        })
        .collect();
    let file = &settings.config.file;
    let mut rows = rows;
    rows.push(vec![
        "config file".into(),
        "DQ_CONFIG".into(),
        format!(
            "{}{}",
            file.path.display(),
            if file.exists() {
                ""
            } else {
                " (does not exist)"
            }
        ),
        match file.origin {
            Origin::Flag => "flag".into(),
            Origin::Env => "env DQ_CONFIG".into(),
            Origin::Default => "default".into(),
        },
    ]);
    table(&["setting", "env", "value", "source"], &rows)
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
