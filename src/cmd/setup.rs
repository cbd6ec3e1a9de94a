//! `dq setup`, the first run: asks for a webhook (or a bot token and user id), checks it with
//! Discord without posting anything, offers a test notification through the queue, writes the
//! config file and says what to run next. In a Codespace whose events another machine
//! delivers, it also keeps or makes the fleet's announce key, which it saves but never prints.
//! With `--yes` it asks nothing: the flags, environment and file say it all, and a failed
//! check exits 1 with nothing written.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};

use super::{Settings, UsageError};
use crate::cli::{Layout, SetupArgs};
use crate::config::edit::{self, Change};
use crate::config::{file, keys, Origin, Source};
use crate::credentials::{self, Failure};
use crate::secret;

/// Where messages go, once checked.
#[derive(Debug, Clone)]
enum Delivery {
    Webhook {
        url: String,
        /// To mention in the messages, when given.
        user_id: Option<String>,
        described: String,
    },
    Bot {
        token: String,
        user_id: String,
        described: String,
    },
}

pub fn run(settings: &Settings, args: &SetupArgs) -> Result<ExitCode> {
    let path = settings.config.path()?.to_path_buf();
    let interactive = !args.yes;
    if interactive && !io::stdin().is_terminal() {
        return Err(UsageError(
            "dq setup asks its questions on a terminal; in a script, pass --yes with --webhook \
             URL (or --bot-token TOKEN --user-id ID), and --test to send a test notification"
                .into(),
        )
        .into());
    }
    let api = args.discord.discord_api.trim().to_string();
    let mut prompt = Prompt::terminal();
    let delivery = if interactive {
        prompt.say(&format!(
            "dq setup connects dq to Discord and writes {}.\n(Ctrl-C stops it; nothing is \
             written before the end.)\n\n",
            path.display()
        ))?;
        ask_delivery(&mut prompt, args, &api)?
    } else {
        check_given(args, &api)?
    };
    let described = match &delivery {
        Delivery::Webhook { described, .. } | Delivery::Bot { described, .. } => described,
    };
    prompt.say(&format!("ok: {described}\n"))?;

    let test = if args.test || !interactive {
        args.test
    } else {
        prompt.confirm(
            "Send a test notification now (through the queue, as dq consume would)?",
            true,
        )?
    };
    if test {
        prompt.say("Sending a test notification... ")?;
        match send_test(settings, &delivery, &api) {
            Ok(()) => prompt.say("delivered: look for it in Discord.\n")?,
            Err(why) => {
                prompt.say("it failed.\n")?;
                if !interactive
                    || !prompt.confirm(&format!("{why}\nSave the settings anyway?"), false)?
                {
                    bail!("the test notification failed: {why}; nothing was written");
                }
            }
        }
    }

    let default_layout = if std::env::var_os("CODESPACE_NAME").is_some_and(|name| !name.is_empty())
    {
        Layout::Codespace
    } else {
        Layout::OneMachine
    };
    let layout = match args.layout {
        Some(layout) => layout,
        None if interactive => ask_layout(&mut prompt, default_layout)?,
        None => default_layout,
    };

    let key = match layout {
        Layout::Codespace => Some(announce_key(settings)?),
        Layout::OneMachine => None,
    };
    let written = write_config(settings, &path, &delivery, &api, key.as_ref())?;
    prompt.say(&format!(
        "\nWrote {} to {} (mode 0600).\n\n",
        written.join(", "),
        path.display()
    ))?;
    prompt.say(&match &key {
        Some(key) => codespace_steps(settings, &path, &delivery, key),
        None => ONE_MACHINE_STEPS.to_string(),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The key `dq serve --announce` sends and `dq consume --announce-key` checks: one for the
/// whole fleet, so one that the environment (a Codespaces secret) or the file holds is kept.
#[derive(Debug)]
enum AnnounceKey {
    Kept(Source),
    /// Made by this setup, to be saved with the rest.
    Made(String),
}

fn announce_key(settings: &Settings) -> Result<AnnounceKey> {
    match settings.resolve("announce-key") {
        // An empty value is no key, as serve and consume read it.
        Some((Some(values), source)) if values.iter().any(|value| !value.trim().is_empty()) => {
            Ok(AnnounceKey::Kept(source))
        }
        _ => Ok(AnnounceKey::Made(
            secret::random_token().context("making the announce key")?,
        )),
    }
}

/// With `--yes`: what the flags, environment and file give, checked once.
fn check_given(args: &SetupArgs, api: &str) -> Result<Delivery> {
    let non_empty = |value: &Option<String>| value.clone().filter(|value| !value.trim().is_empty());
    if let Some(url) = non_empty(&args.discord.webhook) {
        return check_webhook(&url, non_empty(&args.user_id), api)
            .map_err(|failure| anyhow::anyhow!("{failure}"));
    }
    let Some(token) = non_empty(&args.discord.bot_token) else {
        return Err(UsageError(
            "nothing to set up: pass --webhook URL, or --bot-token TOKEN and --user-id ID".into(),
        )
        .into());
    };
    let Some(user_id) = non_empty(&args.user_id) else {
        return Err(UsageError(
            "--bot-token needs --user-id: the Discord user the bot sends messages to".into(),
        )
        .into());
    };
    check_bot(&token, &user_id, api).map_err(|failure| anyhow::anyhow!("{failure}"))
}

fn check_webhook(url: &str, user_id: Option<String>, api: &str) -> Result<Delivery, Failure> {
    let webhook = credentials::check_webhook(url, api)?;
    let mut described = format!(
        "webhook {:?} ({}), posting to channel {}",
        webhook.name,
        secret::mask_webhook(url.trim()),
        webhook.channel_id
    );
    if let Some(guild) = &webhook.guild_id {
        described.push_str(&format!(" in server {guild}"));
    }
    Ok(Delivery::Webhook {
        url: url.trim().to_string(),
        user_id,
        described,
    })
}

fn check_bot(token: &str, user_id: &str, api: &str) -> Result<Delivery, Failure> {
    let bot = credentials::check_bot(token, api)?;
    let user = credentials::check_user(token, api, user_id)?;
    Ok(bot_delivery(token, &bot, &user))
}

fn bot_delivery(token: &str, bot: &credentials::User, user: &credentials::User) -> Delivery {
    Delivery::Bot {
        token: token.trim().to_string(),
        user_id: user.id.clone(),
        described: format!(
            "bot {} will send direct messages to {} ({})",
            bot.username, user.username, user.id
        ),
    }
}

/// Asks until a webhook or a bot token and user id pass the check.
fn ask_delivery(prompt: &mut Prompt, args: &SetupArgs, api: &str) -> Result<Delivery> {
    let present = |value: &Option<String>| value.clone().filter(|value| !value.trim().is_empty());
    let bot_first =
        present(&args.discord.bot_token).is_some() && present(&args.discord.webhook).is_none();
    prompt.say(
        "How should dq deliver notifications?\n  \
         1. To a channel, through a webhook (channel settings → Integrations → Webhooks → New \
         Webhook → Copy Webhook URL)\n  \
         2. As direct messages from a bot (its token, and your user id)\n",
    )?;
    let bot = loop {
        let answer = prompt.ask(&format!(
            "Choose 1 or 2 [{}]: ",
            if bot_first { 2 } else { 1 }
        ))?;
        match answer.trim() {
            "" => break bot_first,
            "1" => break false,
            "2" => break true,
            _ => prompt.say("Please answer 1 or 2.\n")?,
        }
    };
    if !bot {
        let mut current = present(&args.discord.webhook);
        loop {
            let url = prompt.secret("Webhook URL", current.as_deref())?;
            prompt.say("Checking the webhook with Discord... ")?;
            match check_webhook(&url, present(&args.user_id), api) {
                Ok(delivery) => return Ok(delivery),
                Err(failure) => prompt.say(&format!("{failure}.\nLet's try again.\n"))?,
            }
            // What failed is not offered again.
            current = None;
        }
    }
    let mut current = present(&args.discord.bot_token);
    let (token, bot) = loop {
        let token = prompt.secret("Bot token", current.as_deref())?;
        prompt.say("Checking the bot token with Discord... ")?;
        match credentials::check_bot(&token, api) {
            Ok(bot) => break (token, bot),
            Err(failure) => prompt.say(&format!("{failure}.\nLet's try again.\n"))?,
        }
        current = None;
    };
    prompt.say(&format!("ok: the bot is {}.\n", bot.username))?;
    let mut current = present(&args.user_id);
    loop {
        let user_id = prompt.value(
            "Your Discord user id (Developer Mode on, then right-click your name → Copy User ID)",
            current.as_deref(),
        )?;
        match credentials::check_user(&token, api, &user_id) {
            Ok(user) => return Ok(bot_delivery(&token, &bot, &user)),
            Err(failure) => prompt.say(&format!("{failure}.\nLet's try again.\n"))?,
        }
        current = None;
    }
}

fn ask_layout(prompt: &mut Prompt, default: Layout) -> Result<Layout> {
    prompt.say(
        "\nWhere do events happen, and where are they delivered from?\n  \
         1. Both here: dq publish and dq consume run on this machine\n  \
         2. Events happen here (a Codespace); another machine runs dq consume\n",
    )?;
    loop {
        let answer = prompt.ask(&format!(
            "Choose 1 or 2 [{}]: ",
            if default == Layout::Codespace { 2 } else { 1 }
        ))?;
        match answer.trim() {
            "" => return Ok(default),
            "1" => return Ok(Layout::OneMachine),
            "2" => return Ok(Layout::Codespace),
            _ => prompt.say("Please answer 1 or 2.\n")?,
        }
    }
}

/// Publishes a test event and delivers it, as `dq publish test` and `dq consume --once` do, in
/// a queue of its own (a temporary database), so events already in the user's queue are
/// neither delivered nor touched. The two commands are this very binary, run with nothing of
/// the user's settings but the ones being checked.
fn send_test(settings: &Settings, delivery: &Delivery, api: &str) -> Result<(), String> {
    let directory = TempDir::new().map_err(|error| format!("{error:#}"))?;
    let config = directory.0.join("config.toml");
    std::fs::write(&config, "").map_err(|error| format!("preparing the test: {error}"))?;
    let program =
        std::env::current_exe().map_err(|error| format!("finding the dq binary: {error}"))?;
    let command = || {
        let mut command = Command::new(&program);
        for setting in &settings.config.settings {
            command.env_remove(&setting.env);
        }
        command
            .env_remove("DQ_ONCE")
            .env_remove("DQ_DRY_RUN")
            .env("DQ_CONFIG", &config)
            .env("DQ_DB", directory.0.join("events.db"))
            .env("DISCORD_API_BASE", api)
            .stdin(Stdio::null());
        match delivery {
            Delivery::Webhook { url, .. } => {
                command.env("DISCORD_WEBHOOK_URL", url);
            }
            Delivery::Bot { token, user_id, .. } => {
                command
                    .env("DISCORD_BOT_TOKEN", token)
                    .env("DISCORD_USER_ID", user_id);
            }
        }
        command
    };
    for args in [&["publish", "test"][..], &["consume", "--once"][..]] {
        let output = command()
            .args(args)
            .output()
            .map_err(|error| format!("running dq {}: {error}", args.join(" ")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why: Vec<&str> = stderr
                .lines()
                .filter(|line| !line.starts_with("dq: consume done"))
                .collect();
            return Err(format!("dq {}: {}", args.join(" "), why.join(" ")));
        }
    }
    Ok(())
}

/// A private temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let path = std::env::temp_dir().join(format!("dq-setup-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Merges what setup learnt into the file, keeping its other keys and comments; returns the
/// keys written.
fn write_config(
    settings: &Settings,
    path: &Path,
    delivery: &Delivery,
    api: &str,
    key: Option<&AnnounceKey>,
) -> Result<Vec<String>> {
    let config = &settings.config;
    let value = |key: &str, text: &str| -> Result<Change> {
        let setting = keys::find(&config.settings, key).map_err(UsageError)?;
        let value = edit::value_of(setting, text).map_err(UsageError)?;
        Ok(Change::Set {
            key: key.to_string(),
            value,
        })
    };
    let mut changes = Vec::new();
    match delivery {
        Delivery::Webhook { url, user_id, .. } => {
            changes.push(value("webhook", url)?);
            if let Some(user_id) = user_id {
                changes.push(value("user-id", user_id)?);
            }
            changes.push(Change::Unset {
                key: "bot-token".into(),
            });
        }
        Delivery::Bot { token, user_id, .. } => {
            changes.push(value("bot-token", token)?);
            changes.push(value("user-id", user_id)?);
            changes.push(Change::Unset {
                key: "webhook".into(),
            });
        }
    }
    if api.trim_end_matches('/') != crate::discord::DEFAULT_API_BASE {
        changes.push(value("discord-api", api)?);
    }
    if let Some(AnnounceKey::Made(key)) = key {
        changes.push(value("announce-key", key)?);
    }
    let text = file::read_text(path, Origin::Default)?.unwrap_or_default();
    let edited = edit::apply(path, &text, &changes)?;
    file::check(
        path.to_path_buf(),
        config.file.origin,
        edited.clone(),
        &config.settings,
        &config.command,
    )?;
    edit::write(path, &edited)?;
    Ok(changes
        .iter()
        .filter_map(|change| match change {
            Change::Set { key, .. } => Some(key.clone()),
            Change::Unset { .. } => None,
        })
        .collect())
}

const ONE_MACHINE_STEPS: &str = "Next, on this machine:\n  \
     dq publish test     # queue a test notification\n  \
     dq consume          # deliver it, and every event after it (runs until stopped; --once \
     delivers what is due and exits)\n\
     To keep delivering after you log out:\n  \
     nohup dq consume >>~/dq-consume.log 2>&1 &\n";

/// How the README's `.devcontainer/devcontainer.json` starts serve with every Codespace start
/// (the tests hold the two to the same text).
const POST_START: &str = "\"postStartCommand\": \"nohup bash -c 'dq serve --bind 0.0.0.0:8080 \
     >>$HOME/dq-serve.log 2>&1 &' >/dev/null 2>&1\"";

/// What to run in a Codespace whose events another machine delivers: serve here, announcing
/// itself with the fleet's key, and consume there with the same key. The key is never printed
/// (setup's output may be a creation log): the user copies it from the file, or has it already
/// as a Codespaces secret.
fn codespace_steps(
    settings: &Settings,
    path: &Path,
    delivery: &Delivery,
    key: &AnnounceKey,
) -> String {
    let value = |key: &str| {
        settings
            .resolve(key)
            .and_then(|(values, _)| values)
            .map(|values| values.join(", "))
            .filter(|value| !value.trim().is_empty())
    };
    let forwarded = super::serve::codespace_url(8080);
    let mut text = String::from("Next, here (where events happen):\n");
    let consumer = value("announce");
    if consumer.is_none() {
        text.push_str(
            "  dq config set announce https://YOUR-CONSUMER    # the consumer's URL, e.g. \
             https://dq-consume.onrender.com\n",
        );
    }
    let public = forwarded.clone().or_else(|| value("public-url"));
    if public.is_none() {
        text.push_str(
            "  dq config set public-url https://THIS-MACHINE:8080    # where the consumer \
             reaches serve\n",
        );
    }
    text.push_str("  nohup dq serve --bind 0.0.0.0:8080 >>~/dq-serve.log 2>&1 &\n");
    if forwarded.is_some() {
        text.push_str(
            "  gh codespace ports visibility 8080:public -c \"$CODESPACE_NAME\"    # announced \
             sources get no GitHub token\n",
        );
    }
    text.push_str(&format!(
        "  dq publish test\nServe announces {} to {}, with the announce key.\n",
        public.as_deref().unwrap_or("its public-url"),
        consumer.as_deref().unwrap_or("the consumer"),
    ));
    if forwarded.is_some() {
        text.push_str(&format!(
            "To start it with every Codespace, put in .devcontainer/devcontainer.json:\n  \
             \"forwardPorts\": [8080],\n  {POST_START}\n"
        ));
    }
    text.push('\n');

    let file = path.display();
    match key {
        AnnounceKey::Made(_) => text.push_str(&format!(
            "The announce key is new: setup saved it as announce-key in {file} (never \
             printed).\nCopy it from there{} to:\n  \
             - the consumer (below);\n  \
             - your next Codespaces, as the Codespaces secret DQ_ANNOUNCE_KEY (GitHub → \
             Settings →\n    Codespaces → Secrets): their dq setup keeps it instead of making \
             another.\n\n",
            if forwarded.is_some() {
                format!(" (`code {file}` opens it)")
            } else {
                String::new()
            }
        )),
        AnnounceKey::Kept(source) => text.push_str(&format!(
            "The announce key is kept ({source}); the consumer must have the same one.\n\n"
        )),
    }
    let (sink, render) = match delivery {
        Delivery::Webhook { .. } => ("webhook", "DISCORD_WEBHOOK_URL and DQ_ANNOUNCE_KEY"),
        Delivery::Bot { .. } => (
            "bot token",
            "DQ_ANNOUNCE_KEY; set DISCORD_BOT_TOKEN there instead of DISCORD_WEBHOOK_URL",
        ),
    };
    text.push_str(&format!(
        "On the machine that delivers, with the same {sink} and announce key:\n  \
         Render: the repository's render.yaml Blueprint asks for {render}\n  \
         elsewhere: dq setup, then\n    \
         read -rs KEY && dq config set announce-key \"$KEY\"    # paste the key and Enter: \
         it is not shown\n    \
         dq consume --listen 0.0.0.0:8080    # where PORT is set, it listens there by itself\n"
    ));
    text
}

/// The terminal conversation: prompts on stdout, answers from stdin.
struct Prompt {
    input: io::StdinLock<'static>,
}

impl Prompt {
    fn terminal() -> Prompt {
        Prompt {
            input: io::stdin().lock(),
        }
    }

    fn say(&mut self, text: &str) -> Result<()> {
        let mut stdout = io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .context("writing to the terminal")
    }

    /// One line; an end of input stops setup (nothing written).
    fn ask(&mut self, question: &str) -> Result<String> {
        self.say(question)?;
        let mut line = String::new();
        let read = self
            .input
            .read_line(&mut line)
            .context("reading the answer")?;
        if read == 0 {
            bail!("no answer (end of input): setup stopped, nothing was written");
        }
        Ok(line.trim().to_string())
    }

    fn confirm(&mut self, question: &str, default: bool) -> Result<bool> {
        loop {
            let hint = if default { "[Y/n]" } else { "[y/N]" };
            let answer = self.ask(&format!("{question} {hint} "))?;
            match answer.to_ascii_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" | "s" | "si" | "sí" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => self.say("Please answer y or n.\n")?,
            }
        }
    }

    /// A visible answer; Enter keeps `current`.
    fn value(&mut self, label: &str, current: Option<&str>) -> Result<String> {
        let question = match current {
            Some(current) => format!("{label} [Enter keeps {current}]: "),
            None => format!("{label}: "),
        };
        loop {
            let answer = self.ask(&question)?;
            match (answer.is_empty(), current) {
                (false, _) => return Ok(answer),
                (true, Some(current)) => return Ok(current.to_string()),
                (true, None) => {}
            }
        }
    }

    /// A secret: not echoed while typed (where `stty` can turn the echo off); Enter keeps
    /// `current`, shown masked.
    fn secret(&mut self, label: &str, current: Option<&str>) -> Result<String> {
        let question = match current {
            Some(current) => format!(
                "{label} (hidden as you type; Enter keeps {}): ",
                secret::mask(current)
            ),
            None => format!("{label} (hidden as you type): "),
        };
        loop {
            let hidden = set_echo(false);
            let answer = self.ask(&question);
            if hidden {
                set_echo(true);
                self.say("\n")?;
            }
            let answer = answer?;
            match (answer.is_empty(), current) {
                (false, _) => return Ok(answer),
                (true, Some(current)) => return Ok(current.to_string()),
                (true, None) => {}
            }
        }
    }
}

/// Turns the terminal's echo off or on with `stty` (which acts on the terminal it is given as
/// stdin); true if it did.
fn set_echo(on: bool) -> bool {
    Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
