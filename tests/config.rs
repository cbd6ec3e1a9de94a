//! The config file from the real binary: precedence (flag > env > file > default) for a
//! setting of each subcommand, every kind of malformed file refused before anything runs,
//! `dq config show|set|unset|path`, atomic writes, file modes and masked secrets.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::queue::{fails, json, stderr, stdout, succeeds};
use support::serve::Serve;
use support::{SpawnRunning, TempDb};

const USAGE: i32 = 2;
const WEBHOOK: &str = "https://discord.com/api/webhooks/4242/s3cr3t-webhook-token";

/// A database and a config home of their own: `dq()` reads `home/dq/config.toml`.
struct Setup {
    db: TempDb,
    home: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            db: TempDb::new(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.home.path().join("dq").join("config.toml")
    }

    fn write(&self, text: &str) -> PathBuf {
        let path = self.path();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn text(&self) -> String {
        fs::read_to_string(self.path()).unwrap()
    }

    /// `dq` with this config home, and no `--db` (so the file may set it).
    fn bare(&self) -> Command {
        let mut command = support::dq();
        command.env("XDG_CONFIG_HOME", self.home.path());
        command
    }

    /// `dq --db <this database>` with this config home.
    fn dq(&self) -> Command {
        let mut command = self.db.dq();
        command.env("XDG_CONFIG_HOME", self.home.path());
        command
    }
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("running dq")
}

// ---------------------------------------------------------------------------------------------
// Precedence, each level over the next, for a setting of each subcommand

#[test]
fn db_global_setting_takes_flag_then_env_then_file_then_default() {
    let setup = Setup::new();
    let dir = setup.db.dir.path();
    let path = |name: &str| dir.join(name).display().to_string();
    let database = |command: &mut Command| {
        json(&succeeds(command.args(["stats", "--json"])))["config"]["database"]
            .as_str()
            .unwrap()
            .to_string()
    };
    setup.write(&format!("db = {:?}\n", path("file.db")));
    let mut flag = setup.bare();
    flag.env("DQ_DB", path("env.db"))
        .args(["--db", &path("flag.db")]);
    assert_eq!(database(&mut flag), path("flag.db"));
    assert_eq!(
        database(setup.bare().env("DQ_DB", path("env.db"))),
        path("env.db")
    );
    assert_eq!(database(&mut setup.bare()), path("file.db"));
    // An empty variable is no value, as unset: the file applies.
    assert_eq!(database(setup.bare().env("DQ_DB", "")), path("file.db"));
    fs::remove_file(setup.path()).unwrap();
    let default = setup.home.path().join("data");
    assert_eq!(
        database(setup.bare().env("XDG_DATA_HOME", &default)),
        default.join("dq/events.db").display().to_string()
    );
    assert!(Path::new(&path("file.db")).exists());
    assert!(!Path::new(&path("env.db.never")).exists());
}

#[test]
fn publish_user_id_takes_flag_then_env_then_file_then_default() {
    let setup = Setup::new();
    setup.write("user-id = \"300\"\n");
    let user_of = |command: &mut Command| {
        let id: i64 = succeeds(command.arg("test")).trim().parse().unwrap();
        let conn = rusqlite::Connection::open(setup.db.path()).unwrap();
        conn.query_row("SELECT user_id FROM events WHERE id = ?1", [id], |row| {
            row.get::<_, String>(0)
        })
        .unwrap()
    };
    let mut flag = setup.dq();
    flag.env("DISCORD_USER_ID", "200")
        .args(["publish", "--user-id", "100"]);
    assert_eq!(user_of(&mut flag), "100");
    assert_eq!(
        user_of(setup.dq().env("DISCORD_USER_ID", "200").arg("publish")),
        "200"
    );
    assert_eq!(user_of(setup.dq().arg("publish")), "300");
    fs::remove_file(setup.path()).unwrap();
    assert_eq!(user_of(setup.dq().arg("publish")), "");
}

#[test]
fn serve_token_takes_flag_then_env_then_file_then_the_generated_one() {
    let setup = Setup::new();
    setup.write("token = \"from-file\"\n");
    let config = setup.path().display().to_string();
    let status = |serve: &Serve, token: &str| {
        let auth = format!("Bearer {token}");
        serve
            .call_with("GET", "/discord/stats", &[("Authorization", &auth)], None)
            .status
    };
    let env = |token| [("DQ_CONFIG", config.as_str()), ("DQ_TOKEN", token)];
    let serve = Serve::start_with(&setup.db, &["--token", "from-flag"], &env("from-env"));
    assert_eq!(status(&serve, "from-flag"), 200);
    assert_eq!(status(&serve, "from-env"), 401);
    drop(serve);
    let serve = Serve::start_with(&setup.db, &[], &env("from-env"));
    assert_eq!(status(&serve, "from-env"), 200);
    assert_eq!(status(&serve, "from-file"), 401);
    drop(serve);
    let serve = Serve::start_with(&setup.db, &[], &[("DQ_CONFIG", &config)]);
    assert_eq!(status(&serve, "from-file"), 200);
    let token_file = format!("{}.token", setup.db.path().display());
    assert!(
        !Path::new(&token_file).exists(),
        "the file's token was used"
    );
    drop(serve);
    fs::write(setup.path(), "").unwrap();
    let serve = Serve::start_with(&setup.db, &[], &[("DQ_CONFIG", &config)]);
    let generated = fs::read_to_string(&token_file).unwrap();
    assert_eq!(status(&serve, generated.trim()), 200);
    assert_eq!(status(&serve, "from-file"), 401);
}

#[test]
fn consume_lang_takes_flag_then_env_then_file_then_default() {
    let setup = Setup::new();
    succeeds(setup.dq().args([
        "publish",
        "backup-error",
        "--error-type",
        "disk",
        "--message",
        "full",
    ]));
    setup.write("lang = \"en\"\n");
    let title = |command: &mut Command| {
        let out = succeeds(command.args(["--once", "--dry-run"]));
        json(out.lines().next().unwrap())["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .to_string()
    };
    const ES: &str = "❌ Error en Backup";
    const EN: &str = "❌ Backup failed";
    assert_eq!(
        title(
            setup
                .dq()
                .env("DQ_LANG", "en")
                .args(["consume", "--lang", "es"])
        ),
        ES
    );
    assert_eq!(title(setup.dq().env("DQ_LANG", "es").arg("consume")), ES);
    assert_eq!(title(setup.dq().arg("consume")), EN);
    fs::remove_file(setup.path()).unwrap();
    assert_eq!(title(setup.dq().arg("consume")), ES);
}

#[test]
fn failed_max_attempts_from_the_file_decides_what_is_dead_lettered() {
    let setup = Setup::new();
    let id = support::queue::publish(&setup.db, "custom");
    // Two failed attempts, as two deliveries that failed would leave it.
    let conn = rusqlite::Connection::open(setup.db.path()).unwrap();
    conn.execute("UPDATE events SET attempts = 2 WHERE id = ?1", [id])
        .unwrap();
    let count = |command: &mut Command| {
        json(&succeeds(command.args(["failed", "--json"])))["count"]
            .as_i64()
            .unwrap()
    };
    setup.write("max-attempts = 2\n");
    assert_eq!(
        count(&mut setup.dq()),
        1,
        "two attempts are the file's maximum"
    );
    assert_eq!(count(setup.dq().env("DQ_MAX_ATTEMPTS", "3")), 0);
    assert_eq!(
        count(
            setup
                .dq()
                .env("DQ_MAX_ATTEMPTS", "3")
                .args(["--max-attempts", "2"])
        ),
        1
    );
    fs::remove_file(setup.path()).unwrap();
    assert_eq!(count(&mut setup.dq()), 0, "the default is three");
}

#[test]
fn a_file_value_yields_to_a_conflicting_flag() {
    let setup = Setup::new();
    let fake = support::discord::FakeDiscord::start();
    setup.write(&format!(
        "webhook = {:?}\ndiscord-api = {:?}\n",
        fake.webhook_url(),
        fake.api()
    ));
    succeeds(setup.dq().args(["publish", "--user-id", "77", "test"]));
    let output = run(setup
        .dq()
        .args(["consume", "--once", "--bot-token", "bot-token"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        fake.requests()
            .iter()
            .all(|request| !request.path.contains("/webhooks/")),
        "the flag's bot, not the file's webhook, delivered"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding the file

#[test]
fn config_flag_is_global_and_beats_dq_config() {
    let setup = Setup::new();
    let one = setup.home.path().join("one.toml");
    let two = setup.home.path().join("two.toml");
    fs::write(&one, "lang = \"en\"\n").unwrap();
    fs::write(&two, "lang = \"es\"\n").unwrap();
    let lang = |command: &mut Command| {
        json(&succeeds(command.args(["--json"])))["settings"]["lang"]["value"].clone()
    };
    let one_arg = one.to_str().unwrap();
    assert_eq!(
        lang(setup.dq().args(["--config", one_arg, "config", "show"])),
        "en"
    );
    assert_eq!(
        lang(setup.dq().args(["config", "show", "--config", one_arg])),
        "en"
    );
    assert_eq!(
        lang(setup.dq().env("DQ_CONFIG", &two).args(["config", "show"])),
        "es"
    );
    let mut both = setup.dq();
    both.env("DQ_CONFIG", &two)
        .args(["config", "--config", one_arg, "show"]);
    assert_eq!(lang(&mut both), "en");
    let path = succeeds(setup.dq().env("DQ_CONFIG", &two).args(["config", "path"]));
    assert_eq!(path.trim(), two.to_str().unwrap());
    let path = succeeds(setup.dq().args(["config", "path"]));
    assert_eq!(path.trim(), setup.path().to_str().unwrap());
}

#[test]
fn a_relative_xdg_config_home_is_ignored_as_the_spec_says() {
    let setup = Setup::new();
    let home = setup.home.path().join("home");
    let path = succeeds(
        setup
            .dq()
            .env("XDG_CONFIG_HOME", "relative/config")
            .env("HOME", &home)
            .args(["config", "path"]),
    );
    assert_eq!(
        path.trim(),
        home.join(".config/dq/config.toml").to_str().unwrap()
    );
}

#[test]
fn a_missing_default_file_is_fine_and_a_missing_named_one_is_an_error() {
    let setup = Setup::new();
    let missing = setup.home.path().join("nope.toml");
    fails(
        setup.dq().arg("--config").arg(&missing).arg("stats"),
        USAGE,
        "nope.toml: the config file does not exist (named by --config)",
    );
    fails(
        setup.dq().env("DQ_CONFIG", &missing).arg("stats"),
        USAGE,
        "(named by DQ_CONFIG)",
    );
    assert!(!setup.db.path().exists(), "nothing ran");
    succeeds(setup.dq().args(["stats"]));
}

// ---------------------------------------------------------------------------------------------
// Malformed files

/// Every command refuses the file with the same message, exit 2, and runs nothing: no
/// database is created, no port opened, nothing printed on stdout.
fn refused_by_every_command(setup: &Setup, needle: &str) {
    let commands: &[&[&str]] = &[
        &["publish", "test"],
        &["stats"],
        &["failed"],
        &["retry", "--all"],
        &["cleanup"],
        &["serve", "--bind", "127.0.0.1:0"],
        &["consume", "--once", "--dry-run"],
        &["completions", "bash"],
        &["config", "show"],
        &["setup", "--yes", "--webhook", WEBHOOK],
    ];
    for args in commands {
        let message = fails(setup.dq().args(*args), USAGE, needle);
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(!message.contains("s3cr3t"), "{args:?}: {message}");
    }
    assert!(!setup.db.path().exists(), "a command ran");
}

#[test]
fn a_file_that_is_not_toml_is_refused_with_its_line_and_column() {
    let setup = Setup::new();
    let path = setup.write("# mine\nlang = \"en\"\nwait = \n");
    refused_by_every_command(&setup, &format!("{}:3:8: ", path.display()));
}

#[test]
fn an_unknown_key_is_refused_with_the_nearest_key() {
    let setup = Setup::new();
    let path = setup.write(&format!("\n\nwebhok = {WEBHOOK:?}\n"));
    refused_by_every_command(
        &setup,
        &format!(
            "{}:3:1: unknown key `webhok` (did you mean `webhook`?)",
            path.display()
        ),
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused_saying_what_was_expected() {
    let setup = Setup::new();
    let path = setup.write("wait = \"ten\"\n");
    refused_by_every_command(
        &setup,
        &format!(
            "{}:1:8: `wait` must be an integer (as --wait takes), not a string",
            path.display()
        ),
    );
    setup.write("sources = \"https://a\"\n");
    refused_by_every_command(&setup, "`sources` must be an array of strings");
}

#[test]
fn a_value_the_flag_would_refuse_gets_the_flags_message() {
    let setup = Setup::new();
    let path = setup.write("poll = 0\n");
    refused_by_every_command(
        &setup,
        &format!(
            "{}:1:8: invalid value '0' for '--poll <SECONDS>': 0 is not in 1..=3600",
            path.display()
        ),
    );
    // The same message as the flag itself gets.
    let flag = fails(setup.db.dq().args(["consume", "--poll", "0"]), USAGE, "");
    assert!(flag.contains("invalid value '0' for '--poll <SECONDS>': 0 is not in 1..=3600"));
}

#[test]
fn a_duplicate_key_is_refused() {
    let setup = Setup::new();
    let path = setup.write("lang = \"en\"\nlang = \"es\"\n");
    refused_by_every_command(&setup, &format!("{}:2:1: duplicate key", path.display()));
}

#[test]
fn a_file_that_is_not_utf8_is_refused_where_the_bad_byte_is() {
    let setup = Setup::new();
    let path = setup.write("");
    fs::write(&path, b"lang = \"en\"\nwait = \"\xff\"\n").unwrap();
    refused_by_every_command(&setup, &format!("{}:2:9: not valid UTF-8", path.display()));
}

#[test]
fn a_directory_is_refused() {
    let setup = Setup::new();
    fs::create_dir_all(setup.path()).unwrap();
    refused_by_every_command(
        &setup,
        &format!(
            "{}: is a directory, not a config file",
            setup.path().display()
        ),
    );
}

#[test]
fn an_unreadable_file_is_refused() {
    let setup = Setup::new();
    let path = setup.write("lang = \"en\"\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file: run dq as nobody, through setpriv, where that is possible.
    let as_root = unsafe_free_uid() == 0;
    if as_root {
        let Some(setpriv) = which("setpriv") else {
            eprintln!("skipped: running as root without setpriv");
            return;
        };
        // nobody must reach the file's directory, and the database directory.
        for dir in [
            setup.home.path(),
            path.parent().unwrap(),
            setup.db.dir.path(),
        ] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
        }
        let mut command = Command::new(setpriv);
        support::isolate(&mut command)
            .env("XDG_CONFIG_HOME", setup.home.path())
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_dq"))
            .arg("--db")
            .arg(setup.db.path())
            .arg("stats");
        fails(
            &mut command,
            USAGE,
            &format!(
                "{}: cannot read the config file: Permission denied",
                path.display()
            ),
        );
    } else {
        fails(
            setup.dq().arg("stats"),
            USAGE,
            &format!(
                "{}: cannot read the config file: Permission denied",
                path.display()
            ),
        );
    }
    assert!(!setup.db.path().exists());
}

fn unsafe_free_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just made is this process's user.
    let probe = tempfile::NamedTempFile::new().unwrap();
    fs::metadata(probe.path()).unwrap().uid()
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists())
}

#[test]
fn templates_tables_are_accepted_and_their_shape_checked() {
    let setup = Setup::new();
    setup.write(
        "lang = \"en\"\n\n[templates.backup_error]\ntitle = \"{{ error_message }}\"\n\n\
         [templates.backup_error.es]\ntitle = \"x\"\n",
    );
    succeeds(setup.dq().arg("stats"));
    let setup = Setup::new();
    let path = setup.write("[templates]\nbackup_error = \"x\"\n");
    refused_by_every_command(
        &setup,
        &format!(
            "{}:2:16: `templates.backup_error` must be a table",
            path.display()
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets and modes

#[test]
fn a_secret_readable_by_others_gets_one_warning_from_every_command() {
    let setup = Setup::new();
    let path = setup.write(&format!("webhook = {WEBHOOK:?}\n"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    for args in [
        &["stats"][..],
        &["config", "show"][..],
        &["publish", "test"][..],
    ] {
        let output = run(setup.dq().args(args));
        assert!(output.status.success(), "{}", stderr(&output));
        let warning = stderr(&output);
        assert_eq!(
            warning,
            format!(
                "dq: warning: {} holds secrets (webhook) and other users can read it; run: \
                 chmod 600 {}\n",
                path.display(),
                path.display()
            )
        );
        assert!(!stdout(&output).contains("s3cr3t"));
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(stderr(&run(setup.dq().arg("stats"))), "");
    // No secret in it: no warning, whoever can read it.
    fs::write(&path, "lang = \"en\"\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(stderr(&run(setup.dq().arg("stats"))), "");
}

#[test]
fn show_lists_every_setting_with_its_source_and_masks_secrets() {
    let setup = Setup::new();
    let path = setup.write(&format!(
        "# comment\nwebhook = {WEBHOOK:?}\nheaders = [\"X-Github-Token: s3cr3t-gh\"]\nwait = 9\n"
    ));
    let out = succeeds(
        setup
            .dq()
            .env("DQ_POLL", "45")
            .env("DQ_TOKEN", "s3cr3t-token")
            .args([
                "config",
                "show",
                "--lease",
                "30",
                "--bot-token",
                "s3cr3t-bot",
            ]),
    );
    assert!(!out.contains("s3cr3t"), "a secret leaked: {out}");
    let row = |key: &str| {
        out.lines()
            .find(|line| line.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in {out}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let file = path.display();
    assert_eq!(
        row("webhook"),
        format!("https://discord.com/api/webhooks/4242/… file {file}:2")
    );
    assert_eq!(row("headers"), format!("X-Github-Token: … file {file}:3"));
    assert_eq!(row("wait"), format!("9 file {file}:4"));
    assert_eq!(row("poll"), "45 env DQ_POLL");
    assert_eq!(row("lease"), "30 flag");
    assert_eq!(row("bot-token"), "… (10 characters) flag");
    assert_eq!(row("token"), "… (12 characters) env DQ_TOKEN");
    assert_eq!(row("retention"), "7d default");
    assert_eq!(row("listen"), "- default");
    assert_eq!(row("db"), format!("{} flag", setup.db.path().display()));

    let document = json(&succeeds(
        setup
            .dq()
            .env("DQ_TOKEN", "s3cr3t-token")
            .args(["config", "show", "--json"]),
    ));
    let text = document.to_string();
    assert!(!text.contains("s3cr3t"), "a secret leaked: {text}");
    let settings = &document["settings"];
    assert_eq!(settings["wait"]["value"], 9);
    assert_eq!(settings["wait"]["source"], "file");
    assert_eq!(settings["wait"]["line"], 4);
    assert_eq!(settings["token"]["source"], "env");
    assert_eq!(settings["token"]["env"], "DQ_TOKEN");
    assert_eq!(settings["mention"]["value"], false);
    assert_eq!(
        settings["headers"]["value"],
        serde_json::json!(["X-Github-Token: …"])
    );
    assert_eq!(settings["listen"]["value"], Value::Null);
    // Every setting is there, whichever subcommand has it.
    for key in [
        "db",
        "user-id",
        "bind",
        "sources",
        "retry-backoff",
        "discord-api",
        "codespace",
    ] {
        assert!(settings.get(key).is_some(), "{key} missing: {text}");
    }
}

#[test]
fn stats_names_each_setting_by_key_and_env_var_and_its_source() {
    let setup = Setup::new();
    let path = setup.write(&format!("webhook = {WEBHOOK:?}\n"));
    let out = succeeds(setup.dq().env("DISCORD_USER_ID", "123").arg("stats"));
    assert!(!out.contains("s3cr3t") && !out.contains("123 "), "{out}");
    let line = |key: &str| {
        out.lines()
            .find(|line| line.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("webhook"),
        format!(
            "webhook DISCORD_WEBHOOK_URL https://discord.com/… file {}:1",
            path.display()
        )
    );
    assert_eq!(
        line("user-id"),
        "user-id DISCORD_USER_ID set env DISCORD_USER_ID"
    );
    assert_eq!(line("bot-token"), "bot-token DISCORD_BOT_TOKEN - default");
    let document = json(&succeeds(setup.dq().args(["stats", "--json"])));
    assert_eq!(
        document["config"]["config_file"],
        path.display().to_string()
    );
    assert_eq!(document["config"]["config_file_exists"], true);
}

#[test]
fn the_errors_that_say_set_x_name_the_config_key() {
    let setup = Setup::new();
    fails(
        setup.dq().args(["consume", "--once"]),
        USAGE,
        "`webhook` in the config file",
    );
}

// ---------------------------------------------------------------------------------------------
// dq config set / unset

#[test]
fn set_and_unset_keep_comments_and_order() {
    let setup = Setup::new();
    let original = "# dq settings\n\n# language of the messages\nlang = \"en\" # for the team\n\n\
                    # long poll\nwait = 5\n\n[templates.backup_error]\ntitle = \"B\"\n";
    setup.write(original);
    succeeds(setup.dq().args(["config", "set", "lang", "es"]));
    succeeds(setup.dq().args([
        "config",
        "set",
        "sources",
        "https://a.example, https://b.example",
    ]));
    succeeds(setup.dq().args(["config", "set", "mention", "true"]));
    succeeds(setup.dq().args(["config", "set", "wait", "7"]));
    assert_eq!(
        setup.text(),
        "# dq settings\n\n# language of the messages\nlang = \"es\" # for the team\n\n\
         # long poll\nwait = 7\nsources = [\"https://a.example\", \"https://b.example\"]\n\
         mention = true\n\n[templates.backup_error]\ntitle = \"B\"\n"
    );
    let out = succeeds(setup.dq().args(["config", "unset", "wait"]));
    assert_eq!(
        out,
        format!("Removed wait from {}.\n", setup.path().display())
    );
    assert!(!setup.text().contains("wait"));
    assert!(setup.text().contains("# for the team"));
    let out = succeeds(setup.dq().args(["config", "unset", "poll"]));
    assert_eq!(
        out,
        format!("poll is not set in {}.\n", setup.path().display())
    );
    // What was set is what the commands now use.
    let settings =
        json(&succeeds(setup.dq().args(["config", "show", "--json"])))["settings"].clone();
    assert_eq!(settings["sources"]["source"], "file");
    assert_eq!(settings["mention"]["value"], true);
    assert_eq!(settings["lang"]["value"], "es");
}

#[test]
fn set_creates_the_file_and_its_directory_private() {
    let setup = Setup::new();
    let out = succeeds(setup.dq().args(["config", "set", "webhook", WEBHOOK]));
    assert!(!out.contains("s3cr3t"), "{out}");
    assert_eq!(setup.text(), format!("webhook = {WEBHOOK:?}\n"));
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&setup.path()), 0o600);
    assert_eq!(mode(setup.path().parent().unwrap()), 0o700);
    // A file someone made readable is private again after a set.
    fs::set_permissions(setup.path(), fs::Permissions::from_mode(0o644)).unwrap();
    succeeds(setup.dq().args(["config", "set", "lang", "en"]));
    assert_eq!(mode(&setup.path()), 0o600);
}

#[test]
fn set_refuses_unknown_keys_and_bad_values_and_changes_nothing() {
    let setup = Setup::new();
    let original = "lang = \"en\"\n";
    setup.write(original);
    fails(
        setup.dq().args(["config", "set", "webhok", WEBHOOK]),
        USAGE,
        "unknown key `webhok` (did you mean `webhook`?)",
    );
    fails(
        setup.dq().args(["config", "set", "poll", "0"]),
        USAGE,
        "invalid value '0' for '--poll <SECONDS>': 0 is not in 1..=3600",
    );
    fails(
        setup.dq().args(["config", "set", "lang", "fr"]),
        USAGE,
        "invalid value 'fr' for '--lang <LANG>'",
    );
    fails(
        setup.dq().args(["config", "set", "mention", "maybe"]),
        USAGE,
        "`mention` takes true or false",
    );
    let message = fails(
        setup
            .dq()
            .args(["config", "set", "headers", "X-Token s3cr3t"]),
        USAGE,
        "invalid value",
    );
    assert!(!message.contains("s3cr3t"), "{message}");
    fails(
        setup.dq().args(["config", "set", "once", "true"]),
        USAGE,
        "unknown key `once`",
    );
    setup.write(&format!("webhook = {WEBHOOK:?}\n"));
    let message = fails(
        setup
            .dq()
            .args(["config", "set", "bot-token", "s3cr3t-bot"]),
        USAGE,
        "`bot-token` cannot be set with `webhook` (line 1): dq consume takes one of them",
    );
    assert!(!message.contains("s3cr3t"), "{message}");
    assert_eq!(setup.text(), format!("webhook = {WEBHOOK:?}\n"));
}

#[test]
fn unset_repairs_a_file_every_other_command_refuses() {
    let setup = Setup::new();
    setup.write("lang = \"en\"\nwiat = 3\n");
    fails(setup.dq().arg("stats"), USAGE, "unknown key `wiat`");
    succeeds(setup.dq().args(["config", "unset", "wiat"]));
    assert_eq!(setup.text(), "lang = \"en\"\n");
    succeeds(setup.dq().arg("stats"));
    fails(
        setup.dq().args(["config", "unset", "nonsense"]),
        USAGE,
        "unknown key `nonsense`",
    );
}

/// The crash test: `config set` is killed (SIGKILL) after writing and syncing the new text
/// but before the rename (a test hook, in debug builds, holds it there). The old file is whole
/// and nothing of the new one shows; the next `set` works.
#[test]
fn a_set_killed_before_its_rename_leaves_the_old_file_whole() {
    use std::io::{BufRead, BufReader};
    let setup = Setup::new();
    let original = "# keep me\nlang = \"en\"\n";
    setup.write(original);
    let mut child = setup
        .dq()
        .env("DQ_TEST_HOLD_BEFORE_RENAME", "1")
        .args(["config", "set", "wait", "7"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .running();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "dq: test: holding before the rename\n");
    let directory = setup.path().parent().unwrap().to_path_buf();
    let temporary: Vec<PathBuf> = fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(temporary.len(), 1, "the new text waits in a temporary file");
    assert_eq!(
        fs::read_to_string(&temporary[0]).unwrap(),
        "# keep me\nlang = \"en\"\nwait = 7\n"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(setup.text(), original, "the old file is whole");
    succeeds(setup.dq().arg("stats"));
    succeeds(setup.dq().args(["config", "set", "wait", "8"]));
    assert_eq!(setup.text(), "# keep me\nlang = \"en\"\nwait = 8\n");
}

#[test]
fn config_help_lists_every_setting_flag_on_show() {
    let out = succeeds(support::dq().args(["config", "show", "--help"]));
    for flag in [
        "--webhook",
        "--bot-token",
        "--source",
        "--wait",
        "--bind",
        "--user-id",
        "--db",
    ] {
        assert!(out.contains(flag), "{flag} missing from: {out}");
    }
}

#[test]
fn publish_falls_back_to_the_files_webhook_when_the_database_cannot_be_written() {
    let setup = Setup::new();
    let fake = support::discord::FakeDiscord::start();
    setup.write(&format!(
        "webhook = {:?}\nlang = \"en\"\n",
        fake.webhook_url()
    ));
    let blocker = setup.db.dir.path().join("not-a-directory");
    fs::write(&blocker, "x").unwrap();
    let output = run(setup
        .bare()
        .arg("--db")
        .arg(blocker.join("events.db"))
        .args([
            "publish",
            "backup-error",
            "--error-type",
            "upload",
            "--message",
            "quota",
        ]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("straight to the Discord webhook"));
    let embeds = fake.embeds();
    assert_eq!(embeds.len(), 1);
    assert_eq!(embeds[0]["title"], "☁️ Upload to MEGA failed");
}
