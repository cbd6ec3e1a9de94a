//! Changes to the config file (`dq config set|unset`, `dq setup`): `toml_edit` changes only the
//! keys named, so the user's comments, order and layout stay; the new text is written
//! atomically (a temporary file in the same directory, fsync, rename, fsync of the directory)
//! with mode 0600, so a crash at any point leaves either the old file whole or the new one.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use toml_edit::{Array, DocumentMut, Item, Value};

use super::file::{self, FileError};
use super::keys::{Kind, Setting};

/// One change to the file.
#[derive(Debug, Clone)]
pub enum Change {
    Set { key: String, value: Value },
    Unset { key: String },
}

/// The TOML value `text` stands for, parsed as `setting`'s flag would parse it (with the
/// flag's message when it does not). A list takes a comma-separated `text`.
pub fn value_of(setting: &Setting, text: &str) -> Result<Value, String> {
    match setting.kind {
        Kind::Flag => match text.trim() {
            "true" => Ok(Value::from(true)),
            "false" => Ok(Value::from(false)),
            _ => Err(format!(
                "`{}` takes true or false (the flag --{} on its own is true)",
                setting.key, setting.long
            )),
        },
        Kind::List => {
            let items: Vec<&str> = text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .collect();
            for item in &items {
                file::parse_as_flag(setting, item)?;
            }
            Ok(Value::Array(items.into_iter().collect::<Array>()))
        }
        Kind::Integer => {
            file::parse_as_flag(setting, text)?;
            let number: i64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{}` takes an integer, not {text:?}", setting.key))?;
            Ok(Value::from(number))
        }
        Kind::Float => {
            file::parse_as_flag(setting, text)?;
            let number: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{}` takes a number, not {text:?}", setting.key))?;
            Ok(Value::from(number))
        }
        Kind::Text => {
            file::parse_as_flag(setting, text)?;
            Ok(Value::from(text))
        }
    }
}

/// `text` (the file as it is, maybe empty) with `changes` applied. A key already there keeps
/// its place and the comments around it; a new key goes after the last top-level key.
/// `path` is for the error when `text` is not TOML.
pub fn apply(path: &Path, text: &str, changes: &[Change]) -> Result<String, FileError> {
    let mut document: DocumentMut = text.parse().map_err(|error: toml_edit::TomlError| {
        let span = error.span();
        let message = error.message().trim().to_string();
        let (line, column) =
            span.map_or((1, 1), |span| crate::location::position(text, span.start));
        FileError(format!("{}:{line}:{column}: {message}", path.display()))
    })?;
    let table = document.as_table_mut();
    for change in changes {
        match change {
            Change::Set { key, value } => match table.get_mut(key) {
                Some(Item::Value(old)) => {
                    // Keeps a comment at the end of the line, and the spacing.
                    let mut value = value.clone();
                    *value.decor_mut() = old.decor().clone();
                    *old = value;
                }
                _ => {
                    table.insert(key, Item::Value(value.clone()));
                }
            },
            Change::Unset { key } => {
                table.remove(key);
            }
        }
    }
    Ok(document.to_string())
}

/// Whether `text` holds `key` at the top level (parsing as TOML; `false` if it does not).
pub fn holds(text: &str, key: &str) -> bool {
    text.parse::<DocumentMut>()
        .is_ok_and(|document| document.as_table().contains_key(key))
}

/// Writes `text` to `path` atomically with mode 0600, creating its directory (mode 0700) if
/// needed. A symbolic link is followed, so the file it points to is replaced.
pub fn write(path: &Path, text: &str) -> Result<()> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let name = target.file_name().map_or_else(
        || "config.toml".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    // Named after this process, so two writers never share (or remove) one temporary file.
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = write_temporary(&temporary, text).and_then(|()| {
        hold_before_rename();
        fs::rename(&temporary, &target)
            .with_context(|| format!("replacing {} with the new version", target.display()))
    });
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    // The rename is durable only once the directory is on disk too.
    fs::File::open(&directory)
        .and_then(|directory| directory.sync_all())
        .with_context(|| format!("syncing {}", directory.display()))?;
    Ok(())
}

fn write_temporary(path: &Path, text: &str) -> Result<()> {
    let _ = fs::remove_file(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    // The umask may have taken bits away, never added any; this makes it exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Test hook, in debug builds only: with `DQ_TEST_HOLD_BEFORE_RENAME` set, says so on stderr
/// and waits, with the new text written and synced but not yet renamed, so a test can kill
/// the process at the worst moment.
fn hold_before_rename() {
    #[cfg(debug_assertions)]
    if std::env::var_os("DQ_TEST_HOLD_BEFORE_RENAME").is_some() {
        let _ = writeln!(std::io::stderr(), "dq: test: holding before the rename");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli;
    use crate::config::keys;

    fn setting(key: &str) -> Setting {
        let mut command = cli::command();
        command.build();
        keys::settings(&command)
            .into_iter()
            .find(|setting| setting.key == key)
            .unwrap()
    }

    fn set(key: &str, text: &str) -> Change {
        Change::Set {
            key: key.into(),
            value: value_of(&setting(key), text).unwrap(),
        }
    }

    #[test]
    fn values_take_the_type_the_flag_parses() {
        assert_eq!(value_of(&setting("wait"), "10").unwrap().to_string(), "10");
        assert_eq!(
            value_of(&setting("mention"), "true").unwrap().to_string(),
            "true"
        );
        assert_eq!(
            value_of(&setting("sources"), "http://a, http://b")
                .unwrap()
                .to_string(),
            "[\"http://a\", \"http://b\"]"
        );
        assert_eq!(
            value_of(&setting("retention"), "2d").unwrap().to_string(),
            "\"2d\""
        );
        assert_eq!(
            value_of(&setting("wait"), "99").unwrap_err(),
            "invalid value '99' for '--wait <SECONDS>': 99 is not in 0..=60"
        );
        assert!(value_of(&setting("lang"), "fr")
            .unwrap_err()
            .contains("possible values: es, en"));
        assert!(value_of(&setting("mention"), "yes").is_err());
    }

    #[test]
    fn edits_keep_comments_order_and_other_keys() {
        let text = "# my dq\nlang = \"en\" # English please\n\n# where to\nwait = 5\n\n\
                    [templates.backup_error]\ntitle = \"Backup\"\n";
        let path = Path::new("/c.toml");
        let edited = apply(
            path,
            text,
            &[
                set("lang", "es"),
                set("poll", "40"),
                Change::Unset { key: "wait".into() },
            ],
        )
        .unwrap();
        assert_eq!(
            edited,
            "# my dq\nlang = \"es\" # English please\npoll = 40\n\n\
             [templates.backup_error]\ntitle = \"Backup\"\n"
        );
        assert_eq!(apply(path, "", &[set("wait", "3")]).unwrap(), "wait = 3\n");
        let error = apply(path, "a = \n", &[]).unwrap_err();
        assert!(error.0.starts_with("/c.toml:1:5: "), "{}", error.0);
    }

    #[test]
    fn a_write_replaces_the_file_with_mode_0600_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dq").join("config.toml");
        write(&path, "wait = 1\n").unwrap();
        write(&path, "wait = 2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "wait = 2\n");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
