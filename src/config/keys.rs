//! The settings, found in the command definition rather than listed by hand: every option with
//! an environment variable (`env =` in `cli.rs`) is a setting, except the few action flags in
//! `NOT_KEYS`. Its key is its clap id with `-` for `_`: the long name (`bot-token`), or for a
//! list the plural its field has (`--source` → `sources`, `--header` → `headers`).

use std::any::TypeId;

use clap::builder::Resettable;
use clap::{Arg, ArgAction, Command};

/// Options with an environment variable that are not settings: they ask for one run's action
/// (`--once`, `--dry-run`), or name the file itself (`--config`).
pub const NOT_KEYS: &[&str] = &["config", "once", "dry-run"];

/// The TOML type a setting takes in the file, from how its flag parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A flag without a value (`--mention`): `true` or `false`.
    Flag,
    /// A repeatable or comma-separated option (`--source`): an array of strings.
    List,
    /// An option that parses as a whole number (`--wait 25`): an integer.
    Integer,
    /// An option that parses as a number (`--size-mb 1.5`): a float or an integer.
    Float,
    /// Anything else (paths, URLs, durations like `7d`, names): a string.
    Text,
}

impl Kind {
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Flag => "true or false",
            Kind::List => "an array of strings",
            Kind::Integer => "an integer",
            Kind::Float => "a number",
            Kind::Text => "a string",
        }
    }
}

/// One setting: a key of the config file, and the flag and environment variable it shares
/// with every subcommand that has that flag.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key in the file: `bot-token`, `sources`.
    pub key: String,
    /// The clap id of the flag, in every subcommand that has it: `bot_token`.
    pub id: String,
    /// The long flag without dashes: `bot-token`, `source`.
    pub long: String,
    pub env: String,
    pub kind: Kind,
    /// A value to mask wherever it is shown: the flag hides its environment value
    /// (`hide_env_values`), as every token, webhook and user id does.
    pub secret: bool,
    /// The flag as its first subcommand defines it, standing alone: no relation to other
    /// flags, never required or global. `config show` takes it, and file values are parsed
    /// with it.
    pub arg: Arg,
    /// Every subcommand that takes the flag, by its path after `dq` (`serve`, `publish test`);
    /// `dq` itself for a global flag, which every subcommand takes too.
    pub commands: Vec<String>,
    /// A global flag of `dq` itself (`--db`), in every subcommand.
    pub global: bool,
}

impl Setting {
    /// `--bot-token, DISCORD_BOT_TOKEN or bot-token in the config file`, for errors that tell
    /// the user to set it.
    pub fn hint(&self) -> String {
        format!(
            "--{} ({} or `{}` in the config file)",
            self.long, self.env, self.key
        )
    }
}

/// Every setting of `command` (built or not), in the order the help lists them: the global
/// ones, then each subcommand's.
pub fn settings(command: &Command) -> Vec<Setting> {
    let mut settings: Vec<Setting> = Vec::new();
    collect(command, None, &[], &mut settings);
    settings
}

/// `path` is the subcommand's name after `dq` (`config show`), `None` for `dq` itself;
/// `inherited` the global flags of the commands above it, which it takes too (a built command
/// has them among its own already).
fn collect(command: &Command, path: Option<&str>, inherited: &[&Arg], settings: &mut Vec<Setting>) {
    let name = path.unwrap_or("dq");
    // `config show` only mirrors the others' flags.
    let mirror = name == "config show";
    for arg in inherited.iter().copied().chain(command.get_arguments()) {
        let Some(key) = key_of(arg) else {
            continue;
        };
        match settings.iter_mut().find(|known| known.key == key) {
            Some(known) => {
                if !mirror && !known.commands.iter().any(|known| known == name) {
                    known.commands.push(name.to_string());
                }
            }
            None => settings.extend(setting_of(arg).map(|setting| Setting {
                commands: vec![name.to_string()],
                global: path.is_none() && arg.is_global_set(),
                ..setting
            })),
        }
    }
    let mut globals: Vec<&Arg> = inherited.to_vec();
    globals.extend(command.get_arguments().filter(|arg| arg.is_global_set()));
    for subcommand in command.get_subcommands() {
        let path = match path {
            Some(path) => format!("{path} {}", subcommand.get_name()),
            None => subcommand.get_name().to_string(),
        };
        collect(subcommand, Some(&path), &globals, settings);
    }
}

/// The key of the setting `arg` stands for, if it is one.
fn key_of(arg: &Arg) -> Option<String> {
    arg.get_env()?;
    arg.get_long()?;
    let key = arg.get_id().as_str().replace('_', "-");
    (!NOT_KEYS.contains(&key.as_str())).then_some(key)
}

/// The setting `arg` stands for, if it is one.
pub fn setting_of(arg: &Arg) -> Option<Setting> {
    let key = key_of(arg)?;
    let env = arg.get_env()?.to_str()?.to_string();
    let long = arg.get_long()?.to_string();
    Some(Setting {
        key,
        id: arg.get_id().as_str().to_string(),
        long,
        env,
        kind: kind_of(arg),
        secret: arg.is_hide_env_values_set(),
        arg: standalone(arg),
        commands: Vec::new(),
        global: false,
    })
}

pub fn kind_of(arg: &Arg) -> Kind {
    if !arg.get_action().takes_values() {
        return Kind::Flag;
    }
    let many = arg
        .get_num_args()
        .is_some_and(|range| range.max_values() > 1);
    if matches!(arg.get_action(), ArgAction::Append) || arg.get_value_delimiter().is_some() || many
    {
        return Kind::List;
    }
    let parsed = arg.get_value_parser().type_id();
    let integers = [
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
    ];
    if integers.iter().any(|id| parsed == *id) {
        Kind::Integer
    } else if parsed == TypeId::of::<f64>() || parsed == TypeId::of::<f32>() {
        Kind::Float
    } else {
        // Strings, paths, value enums, and durations (`7d`) are written as text.
        Kind::Text
    }
}

/// `arg` without its ties to other flags, so it can live in another command: `config show`,
/// or the one-flag command that parses a file value.
pub fn standalone(arg: &Arg) -> Arg {
    arg.clone()
        .global(false)
        .required(false)
        .conflicts_with(Resettable::Reset)
        .overrides_with(Resettable::Reset)
        .requires(Resettable::Reset)
        .required_unless_present(Resettable::Reset)
        .group(Resettable::Reset)
}

/// The flags of `command` that conflict with flag `id`, whichever of the two declares
/// the conflict.
pub fn conflicting<'a>(command: &'a Command, id: &str) -> Vec<&'a Arg> {
    let Some(arg) = command.get_arguments().find(|arg| arg.get_id() == id) else {
        return Vec::new();
    };
    let mut found = command.get_arg_conflicts_with(arg);
    for other in command.get_arguments() {
        let declared = command
            .get_arg_conflicts_with(other)
            .iter()
            .any(|conflict| conflict.get_id() == id);
        if declared && !found.iter().any(|known| known.get_id() == other.get_id()) {
            found.push(other);
        }
    }
    found
}

/// The setting named `key`, or an error that suggests the nearest key.
pub fn find<'a>(settings: &'a [Setting], key: &str) -> Result<&'a Setting, String> {
    if let Some(setting) = settings.iter().find(|setting| setting.key == key) {
        return Ok(setting);
    }
    let nearest = settings
        .iter()
        .map(|setting| (distance(&setting.key, key), &setting.key))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    Err(match nearest {
        Some((_, near)) => format!("unknown key `{key}` (did you mean `{near}`?)"),
        None => format!("unknown key `{key}` (`dq config show` lists every key)"),
    })
}

/// Levenshtein distance, for "did you mean".
fn distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, a) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b) in right.iter().enumerate() {
            let substitute = previous[j] + usize::from(a != *b);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli;

    fn built() -> Command {
        let mut command = cli::command();
        command.build();
        command
    }

    /// Options that are no setting: what one run is about (the event's fields, an id, a
    /// count), never a default worth keeping in the file. A new option must either have an
    /// `env =` twin (and so become a key) or be listed here.
    const PER_RUN: &[&str] = &[
        "json",
        "dedup-key",
        "dedup-window",
        "error-type",
        "message",
        "file",
        "size-mb",
        "duration",
        "status",
        "ip",
        "port",
        "players",
        "action",
        "detail",
        "payload",
        "field",
        "title",
        "body",
        "level",
        "color",
        "url",
        "limit",
        "all",
        "days",
        "include-failed",
        "yes",
        "test",
        "layout",
        "help",
        "version",
    ];

    fn every_option(command: &Command, path: String, out: &mut Vec<(String, Arg)>) {
        for arg in command.get_arguments() {
            if arg.get_long().is_some() {
                out.push((path.clone(), arg.clone()));
            }
        }
        for subcommand in command.get_subcommands() {
            every_option(subcommand, format!("{path} {}", subcommand.get_name()), out);
        }
    }

    /// `config::parse` finds the settings in the command as defined, without building it (a
    /// build of every subcommand costs each run a millisecond): the same as in the built one.
    #[test]
    fn the_settings_of_the_command_are_those_of_the_built_command() {
        let summary = |settings: Vec<Setting>| -> Vec<String> {
            settings
                .into_iter()
                .map(|s| {
                    // A build adds the `help` subcommands, which take every global flag.
                    let mut commands: Vec<&String> = s
                        .commands
                        .iter()
                        .filter(|path| !path.split(' ').any(|word| word == "help"))
                        .collect();
                    commands.sort();
                    format!(
                        "{} {} {} {:?} {} {} {:?}",
                        s.key, s.long, s.env, s.kind, s.secret, s.global, commands
                    )
                })
                .collect()
        };
        let unbuilt = summary(settings(&cli::command()));
        assert_eq!(unbuilt, summary(settings(&built())));
        assert!(unbuilt.len() > 20, "{unbuilt:?}");
    }

    #[test]
    fn every_option_is_a_setting_with_an_env_var_or_a_per_run_option() {
        let mut options = Vec::new();
        every_option(&built(), "dq".into(), &mut options);
        for (path, arg) in options {
            let long = arg.get_long().unwrap_or_default();
            let key = arg.get_id().as_str().replace('_', "-");
            match arg.get_env() {
                Some(_) => assert!(
                    !PER_RUN.contains(&long),
                    "{path} --{long} has an env var, so it is a setting: remove it from PER_RUN"
                ),
                None => assert!(
                    PER_RUN.contains(&long) || NOT_KEYS.contains(&key.as_str()),
                    "{path} --{long} has no env var: give it `env = \"DQ_...\"` if it is a \
                     setting (it then becomes the config key `{key}`), or list it in PER_RUN \
                     in src/config/keys.rs if it only makes sense for one run"
                ),
            }
        }
    }

    #[test]
    fn every_env_backed_option_is_a_config_key() {
        let command = built();
        let settings = settings(&command);
        let mut options = Vec::new();
        every_option(&command, "dq".into(), &mut options);
        for (path, arg) in options {
            let Some(env) = arg.get_env() else { continue };
            let key = arg.get_id().as_str().replace('_', "-");
            if NOT_KEYS.contains(&key.as_str()) {
                continue;
            }
            let setting = settings
                .iter()
                .find(|setting| setting.key == key)
                .unwrap_or_else(|| panic!("{path} --{key} is not a key"));
            assert_eq!(
                setting.env,
                env.to_str().unwrap(),
                "`{key}` has two env vars ({path})"
            );
        }
        for key in [
            "db",
            "user-id",
            "webhook",
            "bot-token",
            "token",
            "sources",
            "headers",
            "lang",
            "bind",
            "discord-api",
        ] {
            assert!(settings.iter().any(|setting| setting.key == key), "{key}");
        }
        for key in NOT_KEYS {
            assert!(!settings.iter().any(|setting| setting.key == *key), "{key}");
        }
    }

    /// A key is one setting everywhere: the same flag, env var and type in every subcommand
    /// that has it (so `token` is serve's and consume's, as `DQ_TOKEN` is).
    #[test]
    fn a_key_means_the_same_flag_in_every_subcommand() {
        let command = built();
        let settings = settings(&command);
        let mut options = Vec::new();
        every_option(&command, "dq".into(), &mut options);
        for (path, arg) in options {
            let Some(found) = setting_of(&arg) else {
                continue;
            };
            let setting = settings.iter().find(|s| s.key == found.key).unwrap();
            assert_eq!(setting.long, found.long, "{path} `{}`", found.key);
            assert_eq!(setting.env, found.env, "{path} `{}`", found.key);
            assert_eq!(setting.kind, found.kind, "{path} `{}`", found.key);
            assert_eq!(setting.secret, found.secret, "{path} `{}`", found.key);
            assert_eq!(
                setting.arg.get_value_parser().type_id(),
                arg.get_value_parser().type_id(),
                "{path} `{}`",
                found.key
            );
            // The key is the long name, or a list's plural.
            assert!(
                found.key == found.long
                    || (found.kind == Kind::List && found.key == format!("{}s", found.long)),
                "{path}: key `{}` for --{}: name the field like the flag",
                found.key,
                found.long
            );
        }
    }

    #[test]
    fn secrets_are_the_flags_that_hide_their_env_values() {
        let settings = settings(&built());
        for setting in &settings {
            // `sources` and `headers` whole: `allow-http-sources` and `max-sources` are not
            // secrets.
            let looks_secret = ["token", "webhook", "key", "user-id"]
                .iter()
                .any(|word| setting.key.contains(word))
                || ["sources", "headers"].contains(&setting.key.as_str());
            assert_eq!(
                setting.secret, looks_secret,
                "`{}`: a secret's flag sets hide_env_values = true (and only a secret's)",
                setting.key
            );
        }
    }

    #[test]
    fn kinds_follow_the_value_parsers() {
        let settings = settings(&built());
        let kind = |key: &str| settings.iter().find(|s| s.key == key).unwrap().kind;
        assert_eq!(kind("sources"), Kind::List);
        assert_eq!(kind("headers"), Kind::List);
        assert_eq!(kind("mention"), Kind::Flag);
        assert_eq!(kind("no-auth"), Kind::Flag);
        assert_eq!(kind("wait"), Kind::Integer);
        assert_eq!(kind("max-attempts"), Kind::Integer);
        assert_eq!(kind("retention"), Kind::Text);
        assert_eq!(kind("lang"), Kind::Text);
        assert_eq!(kind("db"), Kind::Text);
    }

    #[test]
    fn unknown_keys_get_the_nearest_key() {
        let settings = settings(&built());
        assert!(find(&settings, "webhok").unwrap_err().contains("`webhook`"));
        assert!(find(&settings, "zzzzzzzzzz")
            .unwrap_err()
            .contains("dq config show"));
        assert_eq!(find(&settings, "wait").unwrap().key, "wait");
    }
}
