//! `dq setup` from the real binary against the fake Discord: with `--yes` for scripts, and
//! driven through a pseudo-terminal as a person would (rexpect), including the wrong answers
//! that make it ask again.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::consume::Consume;
use support::discord::{Config, FakeDiscord, BOT_NAME, WEBHOOK_TOKEN};
use support::queue::{stderr, stdout};
use support::serve::{eventually, free_port, Serve};
use support::TempDb;

const BOT_TOKEN: &str = "bot-s3cr3t-token";

/// A home directory of its own: the config file goes to `~/.config/dq/config.toml` and the
/// queue to `~/.local/share/dq/events.db`, as for a newcomer with no variable set.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }

    fn config(&self) -> PathBuf {
        self.0.path().join(".config/dq/config.toml")
    }

    fn text(&self) -> String {
        fs::read_to_string(self.config()).unwrap()
    }

    /// `dq` with only `HOME` to go by (and the test harness's own PATH and the like).
    fn dq(&self) -> Command {
        let mut command = support::dq();
        command
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env("HOME", self.0.path())
            .stdin(Stdio::null());
        command
    }

    fn setup(&self, fake: &FakeDiscord, args: &[&str]) -> Output {
        self.dq()
            .args(["setup", "--yes", "--discord-api", &fake.api()])
            .args(args)
            .output()
            .unwrap()
    }
}

/// Nothing dq printed holds a secret.
fn assert_no_secret(output: &Output) {
    for text in [stdout(output), stderr(output)] {
        for secret in [WEBHOOK_TOKEN, BOT_TOKEN] {
            assert!(!text.contains(secret), "{secret} printed: {text}");
        }
    }
}

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn setup_checks_a_good_webhook_without_posting_and_writes_it_private() {
    let home = Home::new();
    let fake = FakeDiscord::start();
    let output = home.setup(&fake, &["--webhook", &fake.webhook_url()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    let out = stdout(&output);
    assert!(
        out.contains("ok: webhook \"dq alerts\" (http://127.0.0.1:"),
        "{out}"
    );
    assert!(out.contains("/api/webhooks/1111/…), posting to channel 2222 in server 3333"));
    assert!(
        out.contains("Next, on this machine:\n  dq publish test"),
        "{out}"
    );
    assert_eq!(
        home.text(),
        format!(
            "webhook = {:?}\ndiscord-api = {:?}\n",
            fake.webhook_url(),
            fake.api()
        )
    );
    assert_eq!(mode(&home.config()), 0o600);
    assert!(fake.messages().is_empty(), "the check posts nothing");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/api/v10/webhooks/1111/webhook-token");
}

#[test]
fn setup_refuses_an_unknown_webhook_and_writes_nothing() {
    let home = Home::new();
    let fake = FakeDiscord::with(Config {
        unknown_webhook: true,
        ..Config::default()
    });
    let output = home.setup(&fake, &["--webhook", &fake.webhook_url()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_no_secret(&output);
    assert!(stderr(&output).contains(
        "dq: error: Discord does not know this webhook (404, code 10015: Unknown Webhook)"
    ));
    assert!(!home.config().exists());
    // A wrong token, a malformed URL: the same.
    let fake = FakeDiscord::start();
    let wrong_token = format!("{}/api/webhooks/1111/other", fake.url());
    let output = home.setup(&fake, &["--webhook", &wrong_token]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Discord refused the webhook's token (401, code 50027"));
    let output = home.setup(&fake, &["--webhook", "https://discord.com/channels/1/2"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("that is not a webhook URL"));
    assert!(!home.config().exists());
}

#[test]
fn setup_refuses_a_bad_bot_token_and_an_unknown_user() {
    let home = Home::new();
    let fake = FakeDiscord::with(Config {
        bot_token: Some("the-real-token".into()),
        unknown_users: vec!["404404".into()],
        ..Config::default()
    });
    let output = home.setup(&fake, &["--bot-token", BOT_TOKEN, "--user-id", "123"]);
    assert_eq!(output.status.code(), Some(1));
    assert_no_secret(&output);
    assert!(
        stderr(&output).contains("Discord refused the bot token (401: 401: Unauthorized)"),
        "{}",
        stderr(&output)
    );
    let output = home.setup(
        &fake,
        &["--bot-token", "the-real-token", "--user-id", "404404"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output)
        .contains("Discord has no user with id 404404 (404, code 10013: Unknown User)"));
    let output = home.setup(&fake, &["--bot-token", "the-real-token"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(stderr(&output).contains("--bot-token needs --user-id"));
    assert!(!home.config().exists());
}

#[test]
fn setup_merges_into_an_existing_file_keeping_its_keys_and_comments() {
    let home = Home::new();
    let fake = FakeDiscord::start();
    fs::create_dir_all(home.config().parent().unwrap()).unwrap();
    fs::write(
        home.config(),
        format!(
            "# my settings\nlang = \"en\" # English\n\n# the old one\nwebhook = {:?}\n",
            fake.webhook_url()
        ),
    )
    .unwrap();
    let output = home.setup(&fake, &["--bot-token", BOT_TOKEN, "--user-id", "123"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    assert!(stdout(&output).contains(&format!(
        "ok: bot {BOT_NAME} will send direct messages to user123 (123)"
    )));
    assert_eq!(
        home.text(),
        format!(
            "# my settings\nlang = \"en\" # English\nbot-token = {BOT_TOKEN:?}\n\
             user-id = \"123\"\ndiscord-api = {:?}\n",
            fake.api()
        )
    );
    assert_eq!(mode(&home.config()), 0o600);
}

/// The "done when": after one `dq setup`, `dq publish test` and `dq consume` deliver
/// with no variable but HOME.
#[test]
fn after_setup_publish_and_consume_deliver_with_no_variable_set() {
    let home = Home::new();
    let fake = FakeDiscord::start();
    let output = home.setup(&fake, &["--webhook", &fake.webhook_url(), "--test"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    assert!(stdout(&output).contains("Sending a test notification... delivered"));
    assert_eq!(fake.messages().len(), 1, "the test notification arrived");
    assert_eq!(fake.embeds()[0]["title"], "🔔 test");
    assert!(
        !home.0.path().join(".local/share/dq/events.db").exists(),
        "the test went through a queue of its own"
    );

    let published = home
        .dq()
        .args(["publish", "test", "--message", "hola"])
        .output()
        .unwrap();
    assert!(published.status.success(), "{}", stderr(&published));
    let consumed = home.dq().args(["consume", "--once"]).output().unwrap();
    assert!(consumed.status.success(), "{}", stderr(&consumed));
    let embeds = fake.embeds();
    assert_eq!(embeds.len(), 2);
    assert!(embeds[1].to_string().contains("hola"), "{}", embeds[1]);
}

#[test]
fn setup_with_a_bot_sends_the_test_notification_as_a_direct_message() {
    let home = Home::new();
    let fake = FakeDiscord::with(Config {
        bot_token: Some(BOT_TOKEN.into()),
        ..Config::default()
    });
    let output = home.setup(
        &fake,
        &["--bot-token", BOT_TOKEN, "--user-id", "777", "--test"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    let dm = fake
        .requests()
        .into_iter()
        .find(|request| request.path == "/api/v10/users/@me/channels")
        .expect("a DM channel was opened");
    assert_eq!(dm.body["recipient_id"], "777");
    assert_eq!(fake.messages().len(), 1);
}

#[test]
fn setup_fails_when_the_test_notification_does_not_arrive_and_writes_nothing() {
    let home = Home::new();
    let fake = FakeDiscord::with(Config {
        bot_token: Some(BOT_TOKEN.into()),
        closed_dms: vec!["777".into()],
        ..Config::default()
    });
    let output = home.setup(
        &fake,
        &["--bot-token", BOT_TOKEN, "--user-id", "777", "--test"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_no_secret(&output);
    assert!(
        stderr(&output).contains("the test notification failed"),
        "{}",
        stderr(&output)
    );
    assert!(!home.config().exists());
}

#[test]
fn setup_without_a_terminal_or_yes_is_a_usage_error() {
    let home = Home::new();
    let output = home.dq().arg("setup").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("pass --yes with --webhook URL"));
    let output = home.dq().args(["setup", "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("nothing to set up"));
}

/// The announce key in the file at `path`, if any.
fn announce_key(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let table: toml::Table = text.parse().unwrap();
    Some(table.get("announce-key")?.as_str()?.to_string())
}

/// A key setup made: 32 random bytes in hex, as serve's token.
fn assert_made_key(key: &str) {
    assert_eq!(key.len(), 64, "{key}");
    assert!(key.bytes().all(|byte| byte.is_ascii_hexdigit()), "{key}");
}

impl Home {
    /// `dq setup --yes` in a Codespace named fluffy-train, with `env` besides.
    fn setup_in_codespace(
        &self,
        fake: &FakeDiscord,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Output {
        let mut command = self.dq();
        command
            .env("CODESPACE_NAME", "fluffy-train")
            .env("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev")
            .envs(env.iter().copied())
            .args(["setup", "--yes", "--discord-api", &fake.api()])
            .args(args);
        command.output().unwrap()
    }
}

#[test]
fn setup_in_a_codespace_makes_the_announce_key_saves_it_private_and_prints_the_serve_and_consume_lines(
) {
    let home = Home::new();
    let fake = FakeDiscord::start();
    let output = home.setup_in_codespace(&fake, &["--webhook", &fake.webhook_url()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    let key = announce_key(&home.config()).expect("the announce key is saved");
    assert_made_key(&key);
    assert_eq!(mode(&home.config()), 0o600);
    let out = stdout(&output);
    for text in [stdout(&output), stderr(&output)] {
        assert!(!text.contains(&key), "the announce key was printed: {text}");
    }
    let file = home.config().display().to_string();
    for line in [
        "Wrote webhook, discord-api, announce-key to ",
        "Next, here (where events happen):\n  \
         dq config set announce https://YOUR-CONSUMER",
        "\n  nohup dq serve --bind 0.0.0.0:8080 >>~/dq-serve.log 2>&1 &\n",
        "\n  gh codespace ports visibility 8080:public -c \"$CODESPACE_NAME\"",
        "Serve announces https://fluffy-train-8080.app.github.dev to the consumer",
        &format!("saved it as announce-key in {file} (never printed)"),
        &format!("(`code {file}` opens it)"),
        "the Codespaces secret DQ_ANNOUNCE_KEY",
        "render.yaml Blueprint asks for DISCORD_WEBHOOK_URL and DQ_ANNOUNCE_KEY",
        "read -rs KEY && dq config set announce-key \"$KEY\"",
        "dq consume --listen 0.0.0.0:8080",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    // What setup says to put in devcontainer.json is what the README says.
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let post_start = out
        .lines()
        .find(|line| line.contains("\"postStartCommand\""))
        .expect("the postStartCommand line")
        .trim();
    assert!(
        readme.contains(post_start),
        "{post_start} is not the README's"
    );

    // Run again (a second setup, a changed webhook): the key is kept, not replaced.
    let output = home.setup_in_codespace(&fake, &["--webhook", &fake.webhook_url()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(announce_key(&home.config()), Some(key.clone()));
    assert!(stdout(&output).contains(&format!(
        "The announce key is kept (file {file}:3); the consumer must have the same one."
    )));
    assert!(!stdout(&output).contains(&key));

    // One machine: no announce key is made.
    let other = Home::new();
    let output = other.setup_in_codespace(
        &fake,
        &["--webhook", &fake.webhook_url(), "--layout", "one-machine"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Next, on this machine:"));
    assert_eq!(announce_key(&other.config()), None);
}

/// The fleet's later Codespaces have the key and the consumer's URL as Codespaces secrets:
/// setup keeps them and writes no key of its own.
#[test]
fn setup_keeps_an_announce_key_from_the_environment_and_writes_none() {
    let home = Home::new();
    let fake = FakeDiscord::start();
    let fleet_key = "fleet-wide-announce-key-0123456789";
    let output = home.setup_in_codespace(
        &fake,
        &["--webhook", &fake.webhook_url(), "--layout", "codespace"],
        &[
            ("DQ_ANNOUNCE_KEY", fleet_key),
            ("DQ_ANNOUNCE", "https://dq-consume.onrender.com"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_no_secret(&output);
    let out = stdout(&output);
    assert!(!out.contains(fleet_key), "{out}");
    assert!(out.contains("Wrote webhook, discord-api to "), "{out}");
    assert!(
        out.contains("The announce key is kept (env DQ_ANNOUNCE_KEY)"),
        "{out}"
    );
    assert!(out.contains(
        "Serve announces https://fluffy-train-8080.app.github.dev to \
         https://dq-consume.onrender.com, with the announce key."
    ));
    assert!(!out.contains("dq config set announce https://"), "{out}");
    assert_eq!(announce_key(&home.config()), None);

    // An empty variable is no key: one is made.
    let output = home.setup_in_codespace(
        &fake,
        &["--webhook", &fake.webhook_url()],
        &[("DQ_ANNOUNCE_KEY", "")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_made_key(&announce_key(&home.config()).unwrap());
}

/// What setup prints for a Codespace, followed to the letter: serve here reads the key setup
/// saved, the consumer gets it through `read -rs KEY && dq config set announce-key "$KEY"`, and
/// an event published here reaches Discord through it.
#[test]
fn setup_s_codespace_steps_deliver_through_a_consumer_given_the_saved_key() {
    let codespace = Home::new();
    let consumer = Home::new();
    let fake = FakeDiscord::start();
    let output = codespace.setup_in_codespace(&fake, &["--webhook", &fake.webhook_url()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let key = announce_key(&codespace.config()).unwrap();

    // There: dq setup, then the key pasted into the printed line (here from the file).
    let output = consumer.setup(
        &fake,
        &["--webhook", &fake.webhook_url(), "--layout", "one-machine"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_dq"));
    let mut bash = Command::new("bash");
    support::isolate(&mut bash)
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", consumer.0.path())
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", bin.parent().unwrap().display()),
        )
        .args(["-c", "read -rs KEY && dq config set announce-key \"$KEY\""]);
    let pasted = support::run_with_stdin(&mut bash, format!("{key}\n"));
    assert!(pasted.status.success(), "{}", stderr(&pasted));
    assert!(!stdout(&pasted).contains(&key));
    assert_eq!(announce_key(&consumer.config()), Some(key.clone()));
    let mut command = consumer.dq();
    command.args(["consume", "--listen", "127.0.0.1:0", "--allow-http-sources"]);
    let consume = Consume::spawn(command);

    // Here: the consumer's URL in the file, then serve as printed (on a free local port, at
    // an address the consumer reaches, instead of the Codespace's forwarded one).
    let output = codespace
        .dq()
        .args([
            "config",
            "set",
            "announce",
            &format!("http://{}", consume.addr),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let db = TempDb::new();
    let bind = format!("127.0.0.1:{}", free_port());
    let config_home = codespace.0.path().join(".config");
    let serve = Serve::start_on(
        &db,
        &bind,
        &["--public-url", &format!("http://{bind}")],
        &[("XDG_CONFIG_HOME", config_home.to_str().unwrap())],
    );
    assert!(
        consume.wait_for_log(
            "announced itself; delivering from it",
            Duration::from_secs(30)
        ),
        "{}\nserve: {}",
        consume.stderr(),
        serve.stderr()
    );
    let published = db
        .dq()
        .args(["publish", "test", "--message", "from a set-up Codespace"])
        .output()
        .unwrap();
    assert!(published.status.success(), "{}", stderr(&published));
    assert!(
        eventually(Duration::from_secs(30), || fake
            .embeds()
            .iter()
            .any(|embed| embed.to_string().contains("from a set-up Codespace"))),
        "not delivered: {}",
        consume.stderr()
    );
    for log in [consume.stderr(), serve.stderr(), serve.stdout()] {
        assert!(!log.contains(&key), "the announce key was logged: {log}");
    }
}

// ---------------------------------------------------------------------------------------------
// Through a pseudo-terminal

/// A pty session with `dq setup`, collecting everything it printed.
struct Terminal {
    session: rexpect::session::PtySession,
    seen: String,
}

impl Terminal {
    fn start(home: &Home, fake: &FakeDiscord) -> Terminal {
        let mut command = home.dq();
        command
            .stdin(Stdio::inherit())
            .args(["setup", "--discord-api", &fake.api()]);
        let session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
        Terminal {
            session,
            seen: String::new(),
        }
    }

    fn expect(&mut self, text: &str) {
        match self.session.exp_string(text) {
            Ok(before) => {
                self.seen.push_str(&before);
                self.seen.push_str(text);
            }
            Err(error) => panic!("waiting for {text:?}: {error}\nso far:\n{}", self.seen),
        }
    }

    fn answer(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
    }

    fn finish(mut self) -> String {
        let rest = self.session.exp_eof().unwrap();
        self.seen.push_str(&rest);
        self.seen
    }
}

#[test]
fn setup_on_a_terminal_asks_again_after_a_bad_or_unknown_webhook() {
    let home = Home::new();
    let fake = FakeDiscord::start();
    let mut terminal = Terminal::start(&home, &fake);
    terminal.expect("How should dq deliver notifications?");
    terminal.expect("Choose 1 or 2 [1]: ");
    terminal.answer("");
    terminal.expect("Webhook URL (hidden as you type): ");
    terminal.answer("https://discord.com/channels/1/2");
    terminal.expect("that is not a webhook URL");
    terminal.expect("Let's try again.");
    terminal.expect("Webhook URL (hidden as you type): ");
    let unknown = format!("{}/api/webhooks/999/{WEBHOOK_TOKEN}", fake.url());
    terminal.answer(&unknown);
    terminal.expect("Discord does not know this webhook (404, code 10015: Unknown Webhook)");
    terminal.expect("Webhook URL (hidden as you type): ");
    terminal.answer(&fake.webhook_url());
    terminal.expect("ok: webhook \"dq alerts\"");
    terminal.expect("Send a test notification now");
    terminal.answer("y");
    terminal.expect("delivered: look for it in Discord.");
    terminal.expect("Choose 1 or 2 [1]: ");
    terminal.answer("1");
    terminal.expect("Wrote webhook, discord-api to ");
    terminal.expect("Next, on this machine:");
    let seen = terminal.finish();
    assert!(!seen.contains(WEBHOOK_TOKEN), "a secret was shown:\n{seen}");
    assert_eq!(fake.messages().len(), 1, "the test notification arrived");
    assert!(home.text().contains(&fake.webhook_url()));
    assert_eq!(mode(&home.config()), 0o600);
    let gets = fake
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .count();
    assert_eq!(gets, 2, "the malformed URL never reached Discord");
}

#[test]
fn setup_on_a_terminal_asks_again_after_a_bad_bot_token() {
    let home = Home::new();
    let fake = FakeDiscord::with(Config {
        bot_token: Some(BOT_TOKEN.into()),
        ..Config::default()
    });
    let mut terminal = Terminal::start(&home, &fake);
    terminal.expect("Choose 1 or 2 [1]: ");
    terminal.answer("2");
    terminal.expect("Bot token (hidden as you type): ");
    terminal.answer("not-the-token");
    terminal.expect("Discord refused the bot token (401");
    terminal.expect("Bot token (hidden as you type): ");
    terminal.answer(BOT_TOKEN);
    terminal.expect(&format!("ok: the bot is {BOT_NAME}."));
    terminal.expect("Your Discord user id");
    terminal.answer("12x");
    terminal.expect("a Discord user id is a number");
    terminal.expect("Your Discord user id");
    terminal.answer("555");
    terminal.expect(&format!(
        "ok: bot {BOT_NAME} will send direct messages to user555 (555)"
    ));
    terminal.expect("Send a test notification now");
    terminal.answer("n");
    terminal.expect("Choose 1 or 2 [1]: ");
    terminal.answer("2");
    terminal.expect("Wrote bot-token, user-id, discord-api, announce-key to ");
    terminal.expect("Next, here (where events happen):");
    terminal.expect("nohup dq serve --bind 0.0.0.0:8080 >>~/dq-serve.log 2>&1 &");
    terminal.expect("The announce key is new: setup saved it as announce-key in ");
    terminal.expect("set DISCORD_BOT_TOKEN there instead of DISCORD_WEBHOOK_URL");
    terminal.expect("read -rs KEY && dq config set announce-key \"$KEY\"");
    let seen = terminal.finish();
    assert!(!seen.contains(BOT_TOKEN), "a secret was shown:\n{seen}");
    assert!(fake.messages().is_empty(), "no test was asked for");
    assert!(home.text().contains("user-id = \"555\""));
    let key = announce_key(&home.config()).expect("the announce key is saved");
    assert_made_key(&key);
    assert!(!seen.contains(&key), "the announce key was shown:\n{seen}");
    assert_eq!(mode(&home.config()), 0o600);
}

#[test]
fn setup_on_a_terminal_stopped_early_writes_nothing() {
    let home = Home::new();
    let fake = FakeDiscord::start();
    let mut terminal = Terminal::start(&home, &fake);
    terminal.expect("Choose 1 or 2 [1]: ");
    terminal.answer("");
    terminal.expect("Webhook URL (hidden as you type): ");
    terminal.session.send_control('d').unwrap();
    let seen = terminal.finish();
    assert!(
        seen.contains("setup stopped, nothing was written"),
        "{seen}"
    );
    assert!(!home.config().exists());
}
