//! `dq config show|set|unset|path`: every setting with its value and where it comes from, and
//! the edits of the config file (through `config::edit`, so comments and order stay).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{json, Map, Value};

use super::{print, print_json, table, Settings, UsageError};
use crate::cli::{ConfigAction, ConfigArgs};
use crate::config::edit::{self, Change};
use crate::config::{file, keys, Config, FileError, Kind, Origin, Setting, Source};
use crate::secret;

pub fn run(settings: &Settings, args: &ConfigArgs) -> Result<ExitCode> {
    match &args.action {
        ConfigAction::Show => show_settings(settings),
        ConfigAction::Set { key, value } => set(&settings.config, key, value),
        ConfigAction::Unset { key } => unset(&settings.config, key),
        ConfigAction::Path => {
            print(&format!("{}\n", settings.config.path()?.display()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One setting as shown: its value (masked when secret; `None` when unset) and its source.
struct Shown {
    value: Option<Vec<String>>,
    source: Source,
}

fn shown(settings: &Settings, setting: &Setting) -> Shown {
    let (mut value, source) = settings
        .resolve(&setting.key)
        .unwrap_or((None, Source::Default));
    if setting.key == "db"
        && value
            .as_ref()
            .is_none_or(|v| v.iter().all(String::is_empty))
    {
        value = Some(vec![settings.db_path.display().to_string()]);
    }
    // An empty value (`user-id`'s default, `DQ_DB=`) is no value.
    let value = value.filter(|values| values.iter().any(|value| !value.is_empty()));
    let value = if setting.secret {
        value.map(|values| values.iter().map(|v| secret::mask(v)).collect())
    } else {
        value
    };
    Shown { value, source }
}

fn show_settings(settings: &Settings) -> Result<ExitCode> {
    let config = &settings.config;
    let file = &config.file;
    if settings.json {
        let mut all = Map::new();
        for setting in &config.settings {
            let Shown { value, source } = shown(settings, setting);
            let mut entry = json!({
                "value": json_value(setting, value),
                "source": match source {
                    Source::Flag => "flag",
                    Source::Env(_) => "env",
                    Source::File { .. } => "file",
                    Source::Default => "default",
                },
                "env": setting.env,
            });
            if let Source::File { line, .. } = source {
                entry["line"] = json!(line);
            }
            all.insert(setting.key.clone(), entry);
        }
        print_json(&json!({
            "file": file.path.display().to_string(),
            "file_exists": file.exists(),
            "settings": all,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = config
        .settings
        .iter()
        .map(|setting| {
            let Shown { value, source } = shown(settings, setting);
            let value = match value {
                Some(values) if !values.is_empty() => values.join(","),
                _ => "-".into(),
            };
            vec![setting.key.clone(), value, source.to_string()]
        })
        .collect();
    let mut out = format!(
        "config file: {}{}\n\n",
        file.path.display(),
        if file.exists() {
            ""
        } else {
            " (does not exist)"
        }
    );
    out.push_str(&table(&["key", "value", "source"], &rows));
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The value in its TOML type, as `--json` prints it.
fn json_value(setting: &Setting, value: Option<Vec<String>>) -> Value {
    let Some(values) = value else {
        return Value::Null;
    };
    if setting.kind == Kind::List {
        return json!(values);
    }
    let Some(text) = values.into_iter().next() else {
        return Value::Null;
    };
    if setting.secret {
        return json!(text);
    }
    match setting.kind {
        Kind::Flag => json!(text == "true"),
        Kind::Integer => text.parse::<i64>().map_or(json!(text), |n| json!(n)),
        Kind::Float => text.parse::<f64>().map_or(json!(text), |n| json!(n)),
        _ => json!(text),
    }
}

/// The file's text for an edit: empty when it does not exist yet (it is created).
fn current_text(config: &Config) -> Result<(std::path::PathBuf, String)> {
    let path = config.path()?.to_path_buf();
    let text = file::read_text(&path, Origin::Default)?.unwrap_or_default();
    Ok((path, text))
}

fn set(config: &Config, key: &str, value: &str) -> Result<ExitCode> {
    let setting = keys::find(&config.settings, key).map_err(UsageError)?;
    let value = edit::value_of(setting, value).map_err(UsageError)?;
    let (path, text) = current_text(config)?;
    let edited = edit::apply(
        &path,
        &text,
        &[Change::Set {
            key: setting.key.clone(),
            value,
        }],
    )?;
    // The whole new file must be one every command accepts, or nothing is written.
    file::check(
        path.clone(),
        config.file.origin,
        edited.clone(),
        &config.settings,
        &config.command,
    )?;
    edit::write(&path, &edited)?;
    print(&format!("Set {} in {}.\n", setting.key, path.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn unset(config: &Config, key: &str) -> Result<ExitCode> {
    let (path, text) = current_text(config)?;
    // A key the file holds can be removed even when it is no setting (a typo to repair).
    if !edit::holds(&text, key) {
        keys::find(&config.settings, key).map_err(UsageError)?;
        print(&format!("{key} is not set in {}.\n", path.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let edited = edit::apply(&path, &text, &[Change::Unset { key: key.into() }])?;
    edit::write(&path, &edited)?;
    print(&format!("Removed {key} from {}.\n", path.display()))?;
    if let Err(FileError(problem)) = file::check(
        path,
        config.file.origin,
        edited,
        &config.settings,
        &config.command,
    ) {
        eprintln!("dq: warning: the file still has a problem: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}
