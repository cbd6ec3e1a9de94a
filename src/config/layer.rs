//! The file's values as the command's defaults. Before the command line is parsed for real,
//! every flag the file sets gets the file's value as its default, so clap itself applies
//! flag > environment > file > default, parses the file's value with the flag's parser, and
//! `ArgMatches::value_source` says which one won (a default that came from the file is the
//! file's).

use clap::builder::Resettable;
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

use super::file::File;
use super::keys;

/// `command` (not built) with the file's values as defaults. `parsed` is the same command as
/// the first parse used it, and `first` what that parse found: a file value yields to a
/// conflicting flag given on the command line or in the environment (a `--bot-token` flag
/// wins over the file's `webhook`, as it would over a default).
pub fn apply(
    command: Command,
    parsed: &Command,
    first: Option<&ArgMatches>,
    file: &File,
) -> Command {
    let mut command = command;
    let ids: Vec<String> = command
        .get_arguments()
        .filter(|arg| keys::setting_of(arg).is_some())
        .map(|arg| arg.get_id().as_str().to_string())
        .collect();
    for id in ids {
        let Some(entry) = file.entry(&id.replace('_', "-")) else {
            continue;
        };
        if yields(parsed, first, &id) {
            continue;
        }
        let values = entry.values.clone();
        command = command.mut_arg(&id, |arg| {
            // An empty variable (`DQ_DB=` in a script) means unset, so the file applies.
            let empty_env = arg
                .get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.is_empty());
            // Nor does the help show it: it may be a secret.
            let takes_values = arg.get_action().takes_values();
            let arg = arg.default_values(values).hide_default_value(takes_values);
            if empty_env {
                arg.env(Resettable::Reset)
            } else {
                arg
            }
        });
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|subcommand| subcommand.get_name().to_string())
        .collect();
    for name in names {
        let Some(parsed_subcommand) = parsed.find_subcommand(&name) else {
            continue;
        };
        let first = first.and_then(|matches| match matches.subcommand() {
            Some((given, sub_matches)) if given == name => Some(sub_matches),
            _ => None,
        });
        command = command.mut_subcommand(&name, |subcommand| {
            apply(subcommand, parsed_subcommand, first, file)
        });
    }
    command
}

/// Whether a flag that conflicts with `id` was given explicitly (command line or environment).
fn yields(parsed: &Command, first: Option<&ArgMatches>, id: &str) -> bool {
    let Some(first) = first else {
        return false;
    };
    keys::conflicting(parsed, id).iter().any(|other| {
        matches!(
            source(first, other.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    })
}

/// Where `id`'s value came from in `matches`; `None` when it has none, or `matches` does not
/// know the id.
pub fn source(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    if matches.ids().any(|known| known.as_str() == id) {
        matches.value_source(id)
    } else {
        None
    }
}
