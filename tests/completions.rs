//! The completion scripts in `completions/` are what `dq completions SHELL` prints today.
//! After changing the command line, regenerate them with
//! `DQ_UPDATE_COMPLETIONS=1 cargo test --test completions`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::queue::succeeds;

const SCRIPTS: &[(&str, &str)] = &[
    ("bash", "dq.bash"),
    ("zsh", "_dq"),
    ("fish", "dq.fish"),
    ("powershell", "_dq.ps1"),
    ("elvish", "dq.elv"),
];

#[test]
fn committed_completion_scripts_are_up_to_date() {
    let update = std::env::var_os("DQ_UPDATE_COMPLETIONS").is_some_and(|value| value == "1");
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let mut stale = Vec::new();
    for (shell, file) in SCRIPTS {
        let generated = succeeds(support::dq().args(["completions", shell]));
        assert!(generated.contains("publish"), "{shell}: {generated}");
        let path = directory.join(file);
        if update {
            std::fs::create_dir_all(&directory).unwrap();
            std::fs::write(&path, &generated).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(format!("completions/{file}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} out of date with `dq completions`; regenerate with \
         `DQ_UPDATE_COMPLETIONS=1 cargo test --test completions` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for (shell, _) in SCRIPTS {
        let script = succeeds(support::dq().args(["completions", shell]));
        for word in [
            "publish",
            "stats",
            "failed",
            "retry",
            "cleanup",
            "backup-error",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}
