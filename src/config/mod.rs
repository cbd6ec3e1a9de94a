//! The configuration file, `$XDG_CONFIG_HOME/dq/config.toml` (`--config`, `DQ_CONFIG`), and
//! the one mechanism that applies it to every setting: flag > environment > file > default.
//!
//! Nothing here lists settings by hand. A *setting* is any option with an environment
//! variable (`env =` in `cli.rs`), and its key is its long name; so a flag added anywhere with
//! an `env =` twin is a key at once, in every subcommand that has it.
//!
//! - `keys.rs`: the settings, found by walking the clap command (key, env var, TOML type,
//!   secret or not).
//! - `file.rs`: where the file is, reading it and checking it whole with each flag's own
//!   parser, and the `PATH:line:column` its errors name.
//! - `layer.rs`: the file's values become the flags' defaults before the real parse, so clap
//!   applies the precedence and says where each value came from.
//! - `edit.rs`: `dq config set|unset` and `dq setup` change the file with `toml_edit`
//!   (comments and order kept), atomically, mode 0600.
//!
//! `parse` is the entry point: it parses the command line once to learn which file to read
//! (and to answer `--help` without reading any), reads and checks the file, and parses again
//! with the file's values in place.

pub mod edit;
pub mod file;
pub mod keys;
mod layer;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

pub use file::{Entry, File, FileError, Origin};
pub use keys::{Kind, Setting};

use crate::cli::{self, Cli};

/// What the user asked for, with the config file applied.
#[derive(Debug)]
pub struct Invocation {
    pub cli: Cli,
    /// The whole command line's matches, for what the derive structs do not hold
    /// (`config show`'s flags, and where each value came from).
    pub matches: ArgMatches,
    pub config: Config,
}

/// The config file as every command read it, and the settings it may hold.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: File,
    pub settings: Vec<Setting>,
    /// The command line's definition, which the file is checked against (again by
    /// `dq config set` and `dq setup` before they write it).
    pub command: clap::Command,
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(String),
    File { path: PathBuf, line: usize },
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => formatter.write_str("flag"),
            Source::Env(name) => write!(formatter, "env {name}"),
            Source::File { path, line } => write!(formatter, "file {}:{line}", path.display()),
            Source::Default => formatter.write_str("default"),
        }
    }
}

/// Why the command line could not be turned into an `Invocation`.
#[derive(Debug)]
pub enum ParseError {
    /// What clap found wrong, or the help and version it was asked for.
    Usage(clap::Error),
    /// The config file is wrong or missing: exit 2, nothing runs.
    File(FileError),
}

impl From<clap::Error> for ParseError {
    fn from(error: clap::Error) -> ParseError {
        ParseError::Usage(error)
    }
}

impl From<FileError> for ParseError {
    fn from(error: FileError) -> ParseError {
        ParseError::File(error)
    }
}

/// Parses `args` (the program name first) with the config file applied.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, ParseError> {
    let args: Vec<OsString> = args.into_iter().collect();
    // The command is not built (global flags copied into every subcommand) but where a parse
    // needs it: building every subcommand would cost each run a millisecond.
    let settings = keys::settings(&Cli::command());
    let mut command = cli::with_show_flags(&settings);
    let first = command.try_get_matches_from_mut(&args)?;
    let located = file::locate(named_file(&first));
    let (path, origin) = located.unwrap_or((PathBuf::new(), Origin::Default));
    // The commands that repair a file read it themselves, so a broken file can be fixed.
    let file = if repairs_the_file(&first) || path.as_os_str().is_empty() {
        File::unread(path, origin)
    } else {
        file::load(path, origin, &settings, &command)?
    };
    let matches = if file.entries.is_empty() {
        first
    } else {
        // A fresh definition takes the file's values (the parsed one has been built).
        let fresh = cli::with_show_flags(&settings);
        layer::apply(fresh, &command, Some(&first), &file).try_get_matches_from(&args)?
    };
    let cli = Cli::from_arg_matches(&matches)?;
    Ok(Invocation {
        cli,
        matches,
        config: Config {
            file,
            settings,
            command,
        },
    })
}

/// `--config PATH` or `DQ_CONFIG`, and which of them.
fn named_file(matches: &ArgMatches) -> Option<(PathBuf, Origin)> {
    let path = matches.get_one::<PathBuf>("config")?.clone();
    let origin = match layer::source(matches, "config") {
        Some(ValueSource::EnvVariable) => Origin::Env,
        _ => Origin::Flag,
    };
    Some((path, origin))
}

fn repairs_the_file(matches: &ArgMatches) -> bool {
    matches!(
        matches.subcommand(),
        Some(("config", config)) if matches!(config.subcommand_name(), Some("set" | "unset" | "path"))
    )
}

impl Config {
    /// The file's path, or why there is none.
    pub fn path(&self) -> Result<&Path, FileError> {
        if self.file.path.as_os_str().is_empty() {
            Err(FileError(
                "no config file path: set --config, DQ_CONFIG, XDG_CONFIG_HOME or HOME".into(),
            ))
        } else {
            Ok(&self.file.path)
        }
    }

    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|setting| setting.key == key)
    }

    /// `--webhook (DISCORD_WEBHOOK_URL or `webhook` in the config file)`, for the errors that
    /// tell the user to set something.
    pub fn hint(&self, key: &str) -> String {
        self.setting(key)
            .map_or_else(|| format!("`{key}`"), Setting::hint)
    }

    /// The value and its source in `matches`, the matches of a subcommand that has the flag.
    pub fn resolve_in(
        &self,
        setting: &Setting,
        matches: &ArgMatches,
    ) -> (Option<Vec<String>>, Source) {
        let values: Option<Vec<String>> = matches
            .ids()
            .any(|id| id.as_str() == setting.id)
            .then(|| matches.get_raw(&setting.id))
            .flatten()
            .map(|raw| {
                raw.map(|value| value.to_string_lossy().into_owned())
                    .collect()
            });
        let source = match layer::source(matches, &setting.id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Env(setting.env.clone()),
            _ => match self.file.entry(&setting.key) {
                Some(entry) if values.as_ref() == Some(&entry.values) => self.file_source(entry),
                _ => Source::Default,
            },
        };
        (values, source)
    }

    /// The value and its source for a command that does not take the flag (`dq stats` showing
    /// the webhook consume would use): the environment, else the file, else the default.
    pub fn resolve(&self, setting: &Setting) -> (Option<Vec<String>>, Source) {
        if let Some(value) = std::env::var_os(&setting.env).filter(|value| !value.is_empty()) {
            let value = value.to_string_lossy().into_owned();
            let values = match setting.arg.get_value_delimiter() {
                Some(delimiter) => value.split(delimiter).map(str::to_string).collect(),
                None => vec![value],
            };
            return (Some(values), Source::Env(setting.env.clone()));
        }
        if let Some(entry) = self.file.entry(&setting.key) {
            return (Some(entry.values.clone()), self.file_source(entry));
        }
        let defaults: Vec<String> = setting
            .arg
            .get_default_values()
            .iter()
            .map(|value| value.to_string_lossy().into_owned())
            .collect();
        ((!defaults.is_empty()).then_some(defaults), Source::Default)
    }

    fn file_source(&self, entry: &Entry) -> Source {
        Source::File {
            path: self.file.path.clone(),
            line: entry.line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_answered_without_reading_any_file() {
        let args = [
            "dq",
            "--config",
            "/nonexistent/dq.toml",
            "consume",
            "--help",
        ];
        let error = parse(args.map(OsString::from)).unwrap_err();
        assert!(matches!(error, ParseError::Usage(error) if !error.use_stderr()));
    }

    #[test]
    fn a_named_file_that_does_not_exist_is_an_error() {
        let args = ["dq", "stats", "--config", "/nonexistent/dq.toml"];
        match parse(args.map(OsString::from)).unwrap_err() {
            ParseError::File(error) => assert_eq!(
                error.0,
                "/nonexistent/dq.toml: the config file does not exist (named by --config)"
            ),
            other => panic!("{other:?}"),
        }
    }
}
