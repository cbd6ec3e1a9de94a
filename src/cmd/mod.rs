//! One module per subcommand: the only place that prints or combines the other modules.
//! `run` resolves the settings the program runs with from what the user typed.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::ArgMatches;

use crate::cli::{Command, GlobalArgs};
use crate::config::{Config, Invocation, Source};
use crate::store::{Policy, Store};

mod admin;
mod completions;
mod config;
mod consume;
mod publish;
mod render;
mod serve;
mod setup;

/// An error of use found after parsing (a bad batch line, a payload too large): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Settings every subcommand shares, resolved from flags, environment, the config file and
/// defaults.
pub struct Settings {
    pub db_path: PathBuf,
    pub json: bool,
    pub policy: Policy,
    pub busy_timeout: Duration,
    /// The config file every command read, and every setting it may hold (for the parts of
    /// the file that are no flag's, such as `[templates]`, and for showing where a value came
    /// from).
    pub config: Config,
    /// The matches of the subcommand that runs, and its path after `dq` (`config show`).
    pub matches: ArgMatches,
    pub path: String,
}

impl Settings {
    fn new(
        global: &GlobalArgs,
        config: Config,
        (path, matches): (String, ArgMatches),
    ) -> Result<Settings> {
        let db_path = match &global.db {
            Some(path) if !path.as_os_str().is_empty() => path.clone(),
            _ => default_db_path()?,
        };
        Ok(Settings {
            db_path,
            json: global.json,
            policy: Policy {
                max_attempts: global.max_attempts,
                ..Policy::default()
            },
            busy_timeout: Duration::from_millis(global.busy_timeout_ms),
            config,
            matches,
            path,
        })
    }

    /// The value of setting `key` and where it comes from: in the subcommand that runs when it
    /// has the flag, else as that flag would get it (environment, file, default).
    pub fn resolve(&self, key: &str) -> Option<(Option<Vec<String>>, Source)> {
        let setting = self.config.setting(key)?;
        let has_flag = self.path == "config show" || setting.commands.contains(&self.path);
        Some(if has_flag {
            self.config.resolve_in(setting, &self.matches)
        } else {
            self.config.resolve(setting)
        })
    }

    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.db_path, self.policy, self.busy_timeout)
    }
}

/// `$XDG_DATA_HOME/dq/events.db`, else `~/.local/share/dq/events.db`.
fn default_db_path() -> Result<PathBuf> {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|value| !value.is_empty())
                .map(|home| PathBuf::from(home).join(".local/share"))
        })
        .context(
            "no database path: set --db (DQ_DB or `db` in the config file), XDG_DATA_HOME or HOME",
        )?;
    Ok(data_home.join("dq").join("events.db"))
}

pub fn run(invocation: Invocation) -> Result<ExitCode> {
    let Invocation {
        cli,
        matches,
        config,
    } = invocation;
    for warning in &config.file.warnings {
        let _ = writeln!(io::stderr(), "dq: warning: {warning}");
    }
    if let Command::Render(args) = cli.command {
        // Before the settings: rendering needs no database, not even its path.
        return render::run(args, &config);
    }
    let mut leaf = (Vec::new(), matches);
    while let Some((name, sub)) = leaf.1.remove_subcommand() {
        leaf.0.push(name);
        leaf.1 = sub;
    }
    let settings = Settings::new(&cli.global, config, (leaf.0.join(" "), leaf.1))?;
    match cli.command {
        Command::Render(args) => render::run(args, &settings.config),
        Command::Publish(args) => publish::run(&settings, args),
        Command::Stats => admin::stats(&settings),
        Command::Failed(args) => admin::failed(&settings, &args),
        Command::Retry(args) => admin::retry(&settings, &args),
        Command::Cleanup(args) => admin::cleanup(&settings, &args),
        Command::Completions(args) => completions::run(&args),
        Command::Serve(args) => serve::run(&settings, &args),
        Command::Consume(args) => consume::run(&settings, args),
        Command::Config(args) => config::run(&settings, &args),
        Command::Setup(args) => setup::run(&settings, &args),
    }
}

/// The config file's `[templates.TYPE]`, compiled, with render-time failures logged on
/// stderr; a template that does not compile is an error of use (exit 2), so `dq consume` and
/// `dq render` stop before anything runs.
pub fn templates(config: &Config) -> Result<Option<std::sync::Arc<crate::render::Templates>>> {
    let templates = crate::render::Templates::from_config(&config.file.path, config.file.text())
        .map_err(|error| UsageError(error.0))?;
    Ok(templates.map(|templates| {
        std::sync::Arc::new(templates.on_failure(|line| {
            let _ = writeln!(io::stderr(), "dq: {line}");
        }))
    }))
}

/// The language messages are rendered in, as the command line names it.
pub fn lang(lang: crate::cli::Lang) -> crate::render::Lang {
    match lang {
        crate::cli::Lang::Es => crate::render::Lang::Es,
        crate::cli::Lang::En => crate::render::Lang::En,
    }
}

/// A flag that SIGTERM and SIGINT set, for `serve` and `consume` to finish what is in flight
/// and exit 0; a second signal while stopping ends the process at once (exit 1).
pub fn stop_on_signals() -> Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // Registered first, so it sees the flag as it was before this signal set it.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .context("installing the signal handlers")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    Ok(stop)
}

/// The read end of a pipe that SIGTERM or SIGINT writes to, for a thread to block on (serve's
/// main thread waits there at no cost); the signals also get [`stop_on_signals`]'s handling,
/// so a second one while stopping ends the process at once.
pub fn stop_signal() -> Result<std::os::unix::net::UnixStream> {
    use std::os::unix::net::UnixStream;
    drop(stop_on_signals()?);
    let (read, write) = UnixStream::pair().context("creating the signal pipe")?;
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let write = write.try_clone().context("creating the signal pipe")?;
        signal_hook::low_level::pipe::register(signal, write)
            .context("installing the signal handlers")?;
    }
    Ok(read)
}

/// Prints the error and its causes as `dq: error: ...` and picks the exit code. A closed
/// stdout (`dq failed | head`) is not an error.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let broken_pipe = error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        message.push_str(": ");
        message.push_str(&cause.to_string());
    }
    let _ = writeln!(io::stderr(), "dq: error: {message}");
    let usage = |cause: &(dyn std::error::Error + 'static)| {
        cause.is::<UsageError>() || cause.is::<crate::config::FileError>()
    };
    if error.chain().any(usage) {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

/// Prints what clap found wrong with the command line as `dq: error: ...` (exit code 2), or
/// the help and version text it was asked for (exit code 0; a closed pipe is ignored).
pub fn report_usage(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let text = error.render().to_string();
    let text = match text.strip_prefix("error: ") {
        Some(rest) => format!("dq: error: {rest}"),
        None => format!("dq: error: {text}"),
    };
    let _ = io::stderr().write_all(text.as_bytes());
    ExitCode::from(2)
}

/// Writes `text` to stdout; a write error (a closed pipe) propagates to `report`.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
}

pub fn print_json(value: &serde_json::Value) -> Result<()> {
    print(&format!("{value}\n"))
}

/// A small table aligned in columns, for human output. A column whose cells are all numbers
/// is right-aligned, so that digits line up.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    let mut numeric = vec![!rows.is_empty(); headers.len()];
    for row in rows {
        for ((width, is_numeric), cell) in widths.iter_mut().zip(&mut numeric).zip(row) {
            *width = (*width).max(cell.chars().count());
            *is_numeric &= !cell.is_empty() && cell.parse::<f64>().is_ok();
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>, is_header: bool| {
        let padded: Vec<String> = cells
            .zip(widths.iter().zip(&numeric))
            .map(|(cell, (width, is_numeric))| {
                if *is_numeric && !is_header {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&mut headers.iter().copied(), true);
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str), false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_right_align_numbers() {
        let rows = vec![
            vec![
                "7".to_string(),
                "backup_error".to_string(),
                "gone".to_string(),
            ],
            vec!["1234".to_string(), "test".to_string(), String::new()],
        ];
        assert_eq!(
            table(&["id", "type", "last error"], &rows),
            "id    type          last error\n   7  backup_error  gone\n1234  test\n"
        );
        assert_eq!(table(&["id"], &[]), "id\n");
    }
}
