//! The config file on disk: where it is, reading it, checking every entry with its flag's own
//! parser, and the positions (`PATH:line:column`) that errors name. A file is checked whole,
//! whichever command reads it: an error anywhere stops every command before it runs.

use std::fs;
use std::io;
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::builder::Resettable;
use clap::Command;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::keys::{self, Kind, Setting};
use crate::location::{at, position};

/// A config file is a few lines; anything larger is not one (and is not read into memory).
const MAX_SIZE: u64 = 1024 * 1024;

/// A problem with the config file, or with finding it: the command exits 2 and runs nothing.
#[derive(Debug)]
pub struct FileError(pub String);

impl std::fmt::Display for FileError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

/// Who named the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--config PATH`
    Flag,
    /// `DQ_CONFIG`
    Env,
    /// `$XDG_CONFIG_HOME/dq/config.toml`, else `~/.config/dq/config.toml`: may be missing.
    Default,
}

/// One setting the file holds.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    /// The line of its key, for `file PATH:LINE` in `dq config show`.
    pub line: usize,
    /// The values as the flag would receive them on the command line (one, or a list's).
    pub values: Vec<String>,
}

/// The config file as read and checked.
#[derive(Debug, Clone)]
pub struct File {
    pub path: PathBuf,
    pub origin: Origin,
    /// `None` when the default file does not exist (which is fine).
    text: Option<String>,
    pub entries: Vec<Entry>,
    /// Printed by every command that reads the file (a secret others can read).
    pub warnings: Vec<String>,
}

impl File {
    /// No file read: the default path does not exist, there is no home to look in, or the
    /// command reads the file itself (`dq config set`).
    pub fn unread(path: PathBuf, origin: Origin) -> File {
        File {
            path,
            origin,
            text: None,
            entries: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn exists(&self) -> bool {
        self.text.is_some()
    }

    /// The file's text as read; empty when it does not exist.
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }

    /// The whole parsed document, with the byte span of every key and value, for the parts of
    /// the file other modules own (`[templates.TYPE]`). Already checked to parse.
    pub fn document(&self) -> Result<Spanned<DeTable<'_>>, FileError> {
        DeTable::parse(self.text()).map_err(|error| self.error_at(error.span(), error.message()))
    }

    /// An error about the text at `span`: `PATH:LINE:COLUMN: message`.
    pub fn error_at(&self, span: Option<Range<usize>>, message: &str) -> FileError {
        FileError(at(&self.path, self.text(), span, message))
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }
}

/// The file `--config`/`DQ_CONFIG` names (an empty one means the default), else the default.
/// `None`: no path can be made (no `XDG_CONFIG_HOME` nor `HOME`).
pub fn locate(named: Option<(PathBuf, Origin)>) -> Option<(PathBuf, Origin)> {
    if let Some((path, origin)) = named.filter(|(path, _)| !path.as_os_str().is_empty()) {
        return Some((path, origin));
    }
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    // The XDG base directory spec: a relative path in XDG_CONFIG_HOME is invalid, ignored.
    let config_home = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some((config_home.join("dq").join("config.toml"), Origin::Default))
}

/// Reads the file's text: `None` for a default file that does not exist.
pub fn read_text(path: &Path, origin: Origin) -> Result<Option<String>, FileError> {
    let shown = path.display();
    let named_by = match origin {
        Origin::Flag => " (named by --config)",
        Origin::Env => " (named by DQ_CONFIG)",
        Origin::Default => "",
    };
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if origin == Origin::Default {
                return Ok(None);
            }
            return Err(FileError(format!(
                "{shown}: the config file does not exist{named_by}"
            )));
        }
        Err(error) => {
            return Err(FileError(format!(
                "{shown}: cannot read the config file: {error}"
            )))
        }
    };
    if metadata.is_dir() {
        return Err(FileError(format!(
            "{shown}: is a directory, not a config file{named_by}"
        )));
    }
    if metadata.len() > MAX_SIZE {
        return Err(FileError(format!(
            "{shown}: {} bytes is too large for a config file (at most 1 MiB)",
            metadata.len()
        )));
    }
    let bytes = fs::read(path)
        .map_err(|error| FileError(format!("{shown}: cannot read the config file: {error}")))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&error.as_bytes()[..valid]).into_owned();
            Err(FileError(at(
                path,
                &before,
                Some(valid..valid),
                "not valid UTF-8 (a config file is UTF-8 text)",
            )))
        }
    }
}

/// Reads and checks the file against `command`, the whole command line.
pub fn load(
    path: PathBuf,
    origin: Origin,
    settings: &[Setting],
    command: &Command,
) -> Result<File, FileError> {
    match read_text(&path, origin)? {
        None => Ok(File::unread(path, origin)),
        Some(text) => check(path, origin, text, settings, command),
    }
}

/// Checks `text` as the file at `path`: it parses, every key is a setting (or `templates`),
/// every value has the type its flag takes and parses as the flag would parse it, and no two
/// keys are flags that conflict in a subcommand.
pub fn check(
    path: PathBuf,
    origin: Origin,
    text: String,
    settings: &[Setting],
    command: &Command,
) -> Result<File, FileError> {
    let error =
        |span: Option<Range<usize>>, message: &str| FileError(at(&path, &text, span, message));
    let document = DeTable::parse(&text).map_err(|e| error(e.span(), e.message()))?;
    let mut entries = Vec::new();
    let mut secrets = Vec::new();
    for (key, value) in document.get_ref() {
        let name = key.get_ref().as_ref();
        if name == "templates" {
            check_templates(value).map_err(|(span, message)| error(Some(span), &message))?;
            continue;
        }
        let setting =
            keys::find(settings, name).map_err(|message| error(Some(key.span()), &message))?;
        let values =
            values_of(setting, value).map_err(|(span, message)| error(Some(span), &message))?;
        if setting.secret && values.iter().any(|value| !value.is_empty()) {
            secrets.push(setting.key.clone());
        }
        entries.push((
            Entry {
                key: setting.key.clone(),
                line: position(&text, key.span().start).0,
                values,
            },
            key.span(),
        ));
    }
    check_conflicts(command, settings, &entries)
        .map_err(|(span, message)| error(Some(span), &message))?;
    let mut warnings = Vec::new();
    if !secrets.is_empty() {
        if let Ok(metadata) = fs::metadata(&path) {
            if metadata.permissions().mode() & 0o044 != 0 {
                warnings.push(format!(
                    "{} holds secrets ({}) and other users can read it; run: chmod 600 {}",
                    path.display(),
                    secrets.join(", "),
                    path.display()
                ));
            }
        }
    }
    Ok(File {
        path,
        origin,
        text: Some(text),
        entries: entries.into_iter().map(|(entry, _)| entry).collect(),
        warnings,
    })
}

/// `[templates.TYPE]` and `[templates.TYPE.LANG]` belong to the templates; here only their
/// shape: `templates` is a table of tables.
fn check_templates(value: &Spanned<DeValue<'_>>) -> Result<(), (Range<usize>, String)> {
    let DeValue::Table(table) = value.get_ref() else {
        return Err((
            value.span(),
            "`templates` must be a table of [templates.TYPE] tables".into(),
        ));
    };
    for (name, template) in table {
        if !template.get_ref().is_table() {
            return Err((
                template.span(),
                format!(
                    "`templates.{}` must be a table ([templates.{}])",
                    name.get_ref(),
                    name.get_ref()
                ),
            ));
        }
    }
    Ok(())
}

/// The entry's values as the command line would give them to the flag, checked by the flag's
/// own parser, so a bad value gets the flag's message.
fn values_of(
    setting: &Setting,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<String>, (Range<usize>, String)> {
    let wrong_type = || {
        (
            value.span(),
            format!(
                "`{}` must be {} (as --{} takes), not {}",
                setting.key,
                setting.kind.expected(),
                setting.long,
                article(value.get_ref().type_str())
            ),
        )
    };
    let scalar = |value: &DeValue<'_>| -> Option<String> {
        match (setting.kind, value) {
            (Kind::Text | Kind::List, DeValue::String(text)) => Some(text.to_string()),
            (Kind::Integer | Kind::Float, DeValue::Integer(integer)) => {
                i128::from_str_radix(integer.as_str(), integer.radix())
                    .ok()
                    .map(|number| number.to_string())
            }
            (Kind::Float, DeValue::Float(float)) => Some(float.as_str().to_string()),
            _ => None,
        }
    };
    let values = match (setting.kind, value.get_ref()) {
        (Kind::Flag, DeValue::Boolean(flag)) => return Ok(vec![flag.to_string()]),
        (Kind::Flag, _) => return Err(wrong_type()),
        (Kind::List, DeValue::Array(array)) => {
            let mut values = Vec::new();
            for item in array.iter() {
                let text = scalar(item.get_ref()).ok_or_else(|| {
                    (
                        item.span(),
                        format!(
                            "`{}` must be an array of strings, not one holding {}",
                            setting.key,
                            article(item.get_ref().type_str())
                        ),
                    )
                })?;
                // As clap splits a delimited flag's values (`--source a,b`), so that the
                // entry holds what the flag ends up with.
                match setting.arg.get_value_delimiter() {
                    Some(delimiter) => values.extend(
                        text.split(delimiter)
                            .map(|part| (part.to_string(), item.span())),
                    ),
                    None => values.push((text, item.span())),
                }
            }
            values
        }
        (Kind::List, _) => return Err(wrong_type()),
        (_, scalar_value) => vec![(scalar(scalar_value).ok_or_else(wrong_type)?, value.span())],
    };
    for (text, span) in &values {
        parse_as_flag(setting, text).map_err(|message| (span.clone(), message))?;
    }
    Ok(values.into_iter().map(|(text, _)| text).collect())
}

/// Runs `text` through the setting's flag alone (`--key=text`), for clap's own verdict and
/// message. A secret's value is kept out of the message.
pub fn parse_as_flag(setting: &Setting, text: &str) -> Result<(), String> {
    let command = Command::new("dq")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(setting.arg.clone().env(Resettable::Reset));
    match command.try_get_matches_from([format!("--{}={text}", setting.long)]) {
        Ok(_) => Ok(()),
        Err(error) => {
            let rendered = error.render().to_string();
            let mut message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|line| !line.starts_with("For more information"))
                .filter(|line| !line.is_empty())
                .collect();
            if let Some(first) = message.first_mut() {
                *first = first.strip_prefix("error: ").unwrap_or(first);
            }
            let message = message.join(" ");
            if setting.secret && !text.is_empty() {
                Err(message.replace(text, "…"))
            } else {
                Err(message)
            }
        }
    }
}

/// Two entries whose flags conflict in some subcommand (`webhook` and `bot-token` in
/// `consume`): the file must hold one, as the command line may.
fn check_conflicts(
    command: &Command,
    settings: &[Setting],
    entries: &[(Entry, Range<usize>)],
) -> Result<(), (Range<usize>, String)> {
    for (later, (entry, span)) in entries.iter().enumerate() {
        let Some(setting) = settings.iter().find(|s| s.key == entry.key) else {
            continue;
        };
        for (earlier, _) in &entries[..later] {
            let Some(other) = settings.iter().find(|s| s.key == earlier.key) else {
                continue;
            };
            if let Some(name) = conflict_in(command, None, &setting.id, &other.id) {
                return Err((
                    span.clone(),
                    format!(
                        "`{}` cannot be set with `{}` (line {}): dq {name} takes one of them",
                        entry.key, earlier.key, earlier.line
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The first subcommand (by its path after `dq`) where flags `left` and `right` conflict.
fn conflict_in(command: &Command, path: Option<&str>, left: &str, right: &str) -> Option<String> {
    if keys::conflicting(command, left)
        .iter()
        .any(|other| other.get_id() == right)
    {
        return Some(path.unwrap_or("").to_string());
    }
    command.get_subcommands().find_map(|subcommand| {
        let path = match path {
            Some(path) => format!("{path} {}", subcommand.get_name()),
            None => subcommand.get_name().to_string(),
        };
        conflict_in(subcommand, Some(&path), left, right)
    })
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" | "array" => format!("an {type_name}"),
        other => format!("a {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli;

    fn check_text(text: &str) -> Result<File, String> {
        let mut command = cli::command();
        command.build();
        let settings = keys::settings(&command);
        check(
            PathBuf::from("/c.toml"),
            Origin::Flag,
            text.to_string(),
            &settings,
            &command,
        )
        .map_err(|error| error.0)
    }

    #[test]
    fn values_become_what_the_flag_would_receive() {
        let file = check_text(
            "# mine\nwait = 10\nsources = [\"http://a\", \"http://b,http://c\"]\nmention = true\n\
             retention = \"2d\"\nlang = \"en\"\n[templates.backup_error]\ntitle = \"x\"\n",
        )
        .unwrap();
        let values = |key| file.entry(key).unwrap().values.clone();
        assert_eq!(values("wait"), ["10"]);
        assert_eq!(values("sources"), ["http://a", "http://b", "http://c"]);
        assert_eq!(values("mention"), ["true"]);
        assert_eq!(values("lang"), ["en"]);
        assert_eq!(file.entry("wait").unwrap().line, 2);
        assert!(file.document().unwrap().get_ref().contains_key("templates"));
    }

    #[test]
    fn every_kind_of_mistake_names_its_line_and_column() {
        let cases = [
            ("wait = ", "/c.toml:1:8:"),
            ("wiat = 3", "/c.toml:1:1: unknown key `wiat` (did you mean `wait`?)"),
            ("\nwait = \"10\"", "/c.toml:2:8: `wait` must be an integer (as --wait takes), not a string"),
            ("wait = 99", "/c.toml:1:8: invalid value '99' for '--wait <SECONDS>': 99 is not in 0..=60"),
            ("lang = \"fr\"", "/c.toml:1:8: invalid value 'fr' for '--lang <LANG>' [possible values: es, en]"),
            ("mention = 1", "/c.toml:1:11: `mention` must be true or false"),
            ("sources = \"http://a\"", "/c.toml:1:11: `sources` must be an array of strings"),
            ("sources = [1]", "/c.toml:1:12: `sources` must be an array of strings, not one holding an integer"),
            ("wait = 1\nwait = 2", "/c.toml:2:1: duplicate key"),
            ("templates = 3", "/c.toml:1:13: `templates` must be a table"),
            ("[templates]\nbackup_error = 1", "/c.toml:2:16: `templates.backup_error` must be a table"),
            ("webhook = \"https://x/api/webhooks/1/t\"\nbot-token = \"b\"",
             "/c.toml:2:1: `bot-token` cannot be set with `webhook` (line 1): dq consume takes one"),
            ("[consume]\nwait = 3", "/c.toml:1:2: unknown key `consume`"),
        ];
        for (text, expected) in cases {
            let error = check_text(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn a_secret_is_kept_out_of_its_parse_error() {
        let error = check_text("headers = [\"X-Token s3cr3t\"]").unwrap_err();
        assert!(!error.contains("s3cr3t"), "{error}");
        assert!(error.starts_with("/c.toml:1:12: invalid value"), "{error}");
    }
}
