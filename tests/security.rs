//! Security checks: every route but health needs the token; the generated token file is
//! private; no token, webhook URL, bot token or user id reaches a log line, `--help`, an error
//! message, stats, metrics or health.
//!
//! The secret-bearing flags are one table (`SECRET_FLAGS`) and the subcommands another
//! (`SUBCOMMANDS`): when `dq consume` lands, its flags are one more row each.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use support::serve::Serve;
use support::TempDb;

const TOKEN: &str = "tok3n-SECRET-4f9a2c";
const WEBHOOK: &str = "https://discord.com/api/webhooks/123456/WEBHOOK-SECRET-77";
const BOT_TOKEN: &str = "BOT-SECRET-token.9x";
const USER_ID: &str = "424242USER-SECRET";
const SOURCE: &str = "http://dq:SOURCE-SECRET@127.0.0.1:9/;token=SOURCE-TOKEN-SECRET";
const HEADER: &str = "X-Github-Token: GH-HEADER-SECRET";
const ANNOUNCE_KEY: &str = "ANNOUNCE-KEY-SECRET-1234";

/// Every secret dq may be given, as its environment variable sets it.
const SECRET_ENV: &[(&str, &str)] = &[
    ("DQ_TOKEN", TOKEN),
    ("DISCORD_WEBHOOK_URL", WEBHOOK),
    ("DISCORD_BOT_TOKEN", BOT_TOKEN),
    ("DISCORD_USER_ID", USER_ID),
    ("DQ_SOURCES", SOURCE),
    ("DQ_HEADER", HEADER),
];

/// The parts of each secret that must never be printed (a masked URL keeps its host).
const NEEDLES: &[&str] = &[
    TOKEN,
    "WEBHOOK-SECRET",
    "api/webhooks/123456",
    BOT_TOKEN,
    "USER-SECRET",
    "SOURCE-SECRET",
    "GH-HEADER-SECRET",
    "SOURCE-TOKEN-SECRET",
    ANNOUNCE_KEY,
];

/// (subcommand words, flag, environment variable, secret): each secret-bearing flag.
const SECRET_FLAGS: &[(&[&str], &str, &str, &str)] = &[
    (&["serve"], "--token", "DQ_TOKEN", TOKEN),
    (
        &["publish", "test"],
        "--user-id",
        "DISCORD_USER_ID",
        USER_ID,
    ),
    (
        &["publish", "event", "custom"],
        "--user-id",
        "DISCORD_USER_ID",
        USER_ID,
    ),
    (
        &["publish", "batch"],
        "--user-id",
        "DISCORD_USER_ID",
        USER_ID,
    ),
    (&["consume"], "--token", "DQ_TOKEN", TOKEN),
    (&["consume"], "--webhook", "DISCORD_WEBHOOK_URL", WEBHOOK),
    (&["consume"], "--bot-token", "DISCORD_BOT_TOKEN", BOT_TOKEN),
    (&["consume"], "--source", "DQ_SOURCES", SOURCE),
    (&["consume"], "--header", "DQ_HEADER", HEADER),
    (
        &["consume"],
        "--announce-key",
        "DQ_ANNOUNCE_KEY",
        ANNOUNCE_KEY,
    ),
    (
        &["serve"],
        "--announce-key",
        "DQ_ANNOUNCE_KEY",
        ANNOUNCE_KEY,
    ),
    (&["setup"], "--webhook", "DISCORD_WEBHOOK_URL", WEBHOOK),
    (&["setup"], "--bot-token", "DISCORD_BOT_TOKEN", BOT_TOKEN),
    (&["setup"], "--user-id", "DISCORD_USER_ID", USER_ID),
    (
        &["config", "show"],
        "--webhook",
        "DISCORD_WEBHOOK_URL",
        WEBHOOK,
    ),
    (&["config", "show"], "--token", "DQ_TOKEN", TOKEN),
    (&["config", "show"], "--header", "DQ_HEADER", HEADER),
];

/// Every subcommand whose `--help` is checked.
const SUBCOMMANDS: &[&[&str]] = &[
    &[],
    &["publish"],
    &["publish", "backup-error"],
    &["publish", "backup-success"],
    &["publish", "minecraft-status"],
    &["publish", "codespace-status"],
    &["publish", "event"],
    &["publish", "batch"],
    &["publish", "test"],
    &["stats"],
    &["failed"],
    &["retry"],
    &["cleanup"],
    &["serve"],
    &["consume"],
    &["completions"],
    &["config", "show"],
    &["config", "set"],
    &["setup"],
];

fn assert_no_secret(context: &str, text: &str) {
    for needle in NEEDLES {
        assert!(
            !text.contains(needle),
            "{context}: {needle:?} appears in:\n{text}"
        );
    }
}

fn assert_output_clean(context: &str, output: &Output) {
    assert_no_secret(context, &String::from_utf8_lossy(&output.stdout));
    assert_no_secret(context, &String::from_utf8_lossy(&output.stderr));
}

fn with_secrets(db: &TempDb) -> std::process::Command {
    let mut command = db.dq();
    command.envs(SECRET_ENV.iter().copied());
    command
}

#[test]
fn help_of_every_subcommand_hides_secrets_set_through_the_environment() {
    let db = TempDb::new();
    for words in SUBCOMMANDS {
        for help in ["--help", "-h"] {
            let output = with_secrets(&db).args(*words).arg(help).output().unwrap();
            assert!(output.status.success(), "{words:?} {help}: {output:?}");
            assert_output_clean(&format!("dq {} {help}", words.join(" ")), &output);
        }
        let output = with_secrets(&db).arg("help").args(*words).output().unwrap();
        assert_output_clean(&format!("dq help {}", words.join(" ")), &output);
    }
}

#[test]
fn secret_flags_never_reach_help_or_error_messages() {
    let db = TempDb::new();
    for (words, flag, env, secret) in SECRET_FLAGS {
        let context = format!("dq {} {flag}", words.join(" "));
        // As a flag, with --help.
        let output = db
            .dq()
            .args(*words)
            .args([flag, secret, "--help"])
            .output()
            .unwrap();
        assert_output_clean(&format!("{context} --help"), &output);
        // As a flag, with a usage error elsewhere on the line.
        let output = db
            .dq()
            .args(*words)
            .args([flag, secret, "--no-such-flag"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{context}: {output:?}");
        assert_output_clean(&format!("{context} --no-such-flag"), &output);
        // From the environment, with a usage error.
        let output = db
            .dq()
            .env(env, secret)
            .args(*words)
            .arg("--no-such-flag")
            .output()
            .unwrap();
        assert_output_clean(&format!("{env} and --no-such-flag"), &output);
    }
}

#[test]
fn runtime_errors_do_not_echo_secrets() {
    let db = TempDb::new();
    let cases: &[&[&str]] = &[
        // A token serve refuses (a space in it): the message must not quote it.
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--token",
            "bad tok3n-SECRET-4f9a2c",
        ],
        // A database that cannot be created.
        &[
            "--db",
            "/proc/dq-nowhere/events.db",
            "serve",
            "--token",
            TOKEN,
        ],
        &["--db", "/proc/dq-nowhere/events.db", "publish", "test"],
        &["--db", "/proc/dq-nowhere/events.db", "stats"],
        // Bad input with the secrets in the environment.
        &["publish", "event", "Not-A-Type"],
        &["publish", "minecraft-status", "--status", "exploded"],
        &["retry", "99999"],
        &["serve", "--bind", "not-an-address"],
        // A source that cannot be reached, with every secret in the environment: the
        // source's credentials, the token, the webhook and the header stay out of the log.
        &["consume", "--once"],
        &["consume", "--once", "--webhook", "not a url"],
        // A serve that would announce itself, refused before it starts.
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--announce",
            "https://consumer.example",
            "--announce-key",
            ANNOUNCE_KEY,
            "--public-url",
            "not a url",
        ],
        // A consumer taking announcements that cannot listen where it is told.
        &[
            "consume",
            "--announce-key",
            ANNOUNCE_KEY,
            "--listen",
            "not-an-address",
        ],
    ];
    for args in cases {
        let output = with_secrets(&db).args(*args).output().unwrap();
        assert!(!output.status.success(), "{args:?}: {output:?}");
        assert_output_clean(&format!("{args:?}"), &output);
    }
}

#[test]
fn publish_and_the_admin_commands_print_no_secret() {
    let db = TempDb::new();
    let cases: &[&[&str]] = &[
        &["publish", "test"],
        &["publish", "--json", "event", "custom", "--field", "a=b"],
        &["stats"],
        &["stats", "--json"],
        &["failed"],
        &["failed", "--json"],
        &["cleanup", "--days", "1"],
    ];
    for args in cases {
        let output = with_secrets(&db).args(*args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert_output_clean(&format!("{args:?}"), &output);
    }
    // The user id is stored (the consumer needs it), but never printed.
    let stats = with_secrets(&db)
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["config"]["user_id_set"], true);
    assert_eq!(stats["config"]["bot_token_set"], true);
}

/// Every (method, path) a client could try; all but `GET /discord/health` need the token.
fn every_route() -> Vec<(&'static str, &'static str)> {
    let paths = [
        "/discord/events",
        "/discord/events?lease=0",
        "/discord/events/claim",
        "/discord/events/ack",
        "/discord/events/1/processed",
        "/discord/events/1/failed",
        "/discord/events/1/retry",
        "/discord/events/1",
        "/discord/stats",
        "/discord/cleanup?days=0",
        "/discord/failed",
        "/discord/metrics",
        "/discord/health/../stats",
        "/discord/unknown",
        "/",
    ];
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    paths
        .iter()
        .flat_map(|path| methods.iter().map(move |method| (*method, *path)))
        .collect()
}

#[test]
fn every_route_but_health_refuses_a_missing_or_wrong_token() {
    let db = TempDb::new();
    support::serve::publish(&db, 2);
    let serve = Serve::start_with(&db, &[], &[("DQ_TOKEN", TOKEN)]);
    let before = db.dump();
    let wrong = [
        None,
        Some(String::new()),
        Some("Bearer".to_string()),
        Some("Bearer wrong".to_string()),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer {}", TOKEN.to_uppercase())),
        Some(format!("Basic {TOKEN}")),
        Some(format!("Token {TOKEN}")),
        Some(TOKEN.to_string()),
    ];
    for (method, path) in every_route() {
        for header in &wrong {
            let headers: Vec<(&str, &str)> = header
                .as_deref()
                .map(|value| ("Authorization", value))
                .into_iter()
                .collect();
            let answer = serve.call_with(method, path, &headers, Some("{}"));
            let context = format!("{method} {path} {header:?}");
            assert_eq!(answer.status, 401, "{context}: {answer:?}");
            assert_eq!(answer.header("content-type"), Some("application/json"));
            assert_eq!(answer.json()["success"], false, "{context}");
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
            assert_no_secret(&context, &answer.body);
        }
    }
    assert_eq!(db.dump(), before);
    // Health alone answers without a token, and tells nothing private.
    let health = serve.call_with("GET", "/discord/health", &[], None);
    assert_eq!(health.status, 200);
    assert_no_secret("health", &health.body);
    // The right token opens every route (a 401 here would mean the table above proves
    // nothing).
    assert_eq!(serve.get("/discord/stats").status, 200);
}

#[test]
fn serve_logs_stats_metrics_and_health_show_no_secret() {
    for generated in [false, true] {
        let db = TempDb::new();
        support::serve::publish(&db, 1);
        let env: Vec<(&str, &str)> = SECRET_ENV
            .iter()
            .copied()
            .filter(|(name, _)| !(generated && *name == "DQ_TOKEN"))
            .collect();
        let mut serve = Serve::start_with(&db, &[], &env);
        let token = serve.token.clone().unwrap();
        if !generated {
            assert_eq!(token, TOKEN);
        }
        let mut bodies = Vec::new();
        for path in [
            "/discord/stats",
            "/discord/metrics",
            "/discord/events?lease=0",
            "/discord/failed",
        ] {
            let answer = serve.get(path);
            assert_eq!(answer.status, 200, "{path}: {answer:?}");
            bodies.push((path, answer.body));
        }
        bodies.push((
            "health",
            serve.call_with("GET", "/discord/health", &[], None).body,
        ));
        let near_miss = format!("Bearer {token}0");
        bodies.push((
            "401",
            serve
                .call_with(
                    "GET",
                    "/discord/stats",
                    &[("Authorization", &near_miss)],
                    None,
                )
                .body,
        ));
        assert_eq!(serve.terminate().code(), Some(0));
        let logs = format!("{}{}", serve.stdout(), serve.stderr());
        for (path, body) in &bodies {
            assert_no_secret(path, body);
            assert!(!body.contains(&token), "{path} shows the token: {body}");
        }
        assert_no_secret("serve's output", &logs);
        assert!(!logs.contains(&token), "serve printed its token: {logs}");
    }
}

#[test]
fn the_generated_token_file_is_private_and_never_followed_through_a_dangling_link() {
    // A database in directories serve creates: none of them writable by others.
    let base = TempDb::new();
    let root = base.dir.path().to_path_buf();
    let db = TempDb {
        path: root.join("a/b/events.db"),
        dir: base.dir,
    };
    let mut serve = Serve::start(&db, &[]);
    let nested = db.path().to_path_buf();
    let token_path = format!("{}.token", nested.display());
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");
    for dir in [root.join("a"), root.join("a/b")] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o002, 0, "{} is world-writable", dir.display());
    }
    assert_eq!(serve.terminate().code(), Some(0));

    // A dangling symbolic link where the token file goes (planted by someone who can write
    // the directory) is not followed to create a file elsewhere: serve refuses to start.
    let planted = TempDb::new();
    let target = planted.dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, format!("{}.token", planted.path().display())).unwrap();
    let output = planted
        .dq()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(!target.exists());
}
