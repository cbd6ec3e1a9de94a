//! Every flag, environment variable, default and help text, as the user types them (clap
//! derive). Values are checked here, so a bad flag is a usage error (exit 2) before anything
//! is opened; `cmd` turns these into the settings the program runs with.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value};

use crate::event::{parse_color, validate_event_type, validate_url, Level, Presentation};

#[derive(Debug, Parser)]
#[command(
    name = "dq",
    version,
    about = "A durable queue of notifications from your machines to Discord",
    long_about = "A durable queue of notifications from your machines to Discord.\n\n\
        Scripts call `dq publish`; the event is stored in a local SQLite file and delivered \
        later, even if Discord or the consumer is down.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes, anywhere on the command line.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: $XDG_CONFIG_HOME/dq/config.toml]
    #[arg(
        long,
        global = true,
        env = "DQ_CONFIG",
        value_name = "PATH",
        value_hint = clap::ValueHint::FilePath,
        value_parser = clap::builder::TypedValueParser::map(
            clap::builder::OsStringValueParser::new(),
            PathBuf::from
        )
    )]
    pub config: Option<PathBuf>,

    /// SQLite database [default: $XDG_DATA_HOME/dq/events.db]
    // An empty value (`DQ_DB=` in a script) means the default, as an unset variable would.
    #[arg(
        long,
        global = true,
        env = "DQ_DB",
        value_name = "PATH",
        value_hint = clap::ValueHint::FilePath,
        value_parser = clap::builder::TypedValueParser::map(
            clap::builder::OsStringValueParser::new(),
            PathBuf::from
        )
    )]
    pub db: Option<PathBuf>,

    /// Print one JSON document instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Failed attempts after which an event is dead-lettered
    #[arg(
        long,
        global = true,
        env = "DQ_MAX_ATTEMPTS",
        default_value_t = 3,
        value_name = "N",
        value_parser = clap::value_parser!(i64).range(1..=100),
        allow_negative_numbers = true
    )]
    pub max_attempts: i64,

    /// How long to wait for another process's lock on the database, in milliseconds
    #[arg(
        long,
        global = true,
        env = "DQ_BUSY_TIMEOUT_MS",
        default_value_t = 5000,
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(0..=600_000),
        allow_negative_numbers = true
    )]
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store an event in the local queue (prints its id)
    Publish(PublishArgs),
    /// Count events by state and show the configuration dq sees
    Stats,
    /// List dead-lettered events
    Failed(FailedArgs),
    /// Put dead-lettered events back in the queue
    Retry(RetryArgs),
    /// Delete old processed events
    Cleanup(CleanupArgs),
    /// Serve the queue over HTTP (for `dq consume` and the original bot)
    Serve(ServeArgs),
    /// Deliver events to Discord (from dq servers, or the local database)
    Consume(ConsumeArgs),
    /// Print the message `dq consume` would send for an event; stores nothing
    Render(RenderArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Show or change the settings of the config file
    Config(ConfigArgs),
    /// Connect dq to Discord: check the webhook or bot token, send a test notification, and
    /// write the config file
    Setup(SetupArgs),
}

/// The whole command line: the derive definition, plus a copy of every setting's flag on
/// `dq config show`, found in the definition itself (`config::keys`), so a flag added anywhere
/// with an `env =` twin is there too.
pub fn command() -> clap::Command {
    with_show_flags(&crate::config::keys::settings(&Cli::command()))
}

/// The derive definition with `settings` (found in it) added to `dq config show`.
pub fn with_show_flags(settings: &[crate::config::Setting]) -> clap::Command {
    let flags: Vec<clap::Arg> = settings
        .iter()
        // Global flags (`--db`) are in `config show` already.
        .filter(|setting| !setting.global)
        .map(|setting| setting.arg.clone().help_heading("Settings"))
        .collect();
    Cli::command().mut_subcommand("config", |config| {
        config.mut_subcommand("show", |show| show.args(flags))
    })
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub common: PublishCommon,

    #[command(subcommand)]
    pub kind: PublishKind,
}

/// Flags shared by every kind of publish.
#[derive(Debug, Args)]
pub struct PublishCommon {
    /// Discord user to notify (may be empty for webhook delivery)
    #[arg(
        long,
        global = true,
        env = "DISCORD_USER_ID",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true,
        value_name = "ID"
    )]
    pub user_id: String,

    /// Codespace name added to the payload
    #[arg(long, global = true, env = "CODESPACE_NAME", value_name = "NAME")]
    pub codespace: Option<String>,

    /// Do not store the event again while one with this key is pending or recent
    #[arg(long, global = true, value_name = "KEY", value_parser = parse_dedup_key)]
    pub dedup_key: Option<String>,

    /// How long a delivered event still counts for --dedup-key (e.g. 30s, 10m, 2h, 1d)
    #[arg(
        long,
        global = true,
        default_value = "0s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub dedup_window: Duration,

    #[command(flatten)]
    pub presentation: PresentationArgs,
}

/// How the message looks: on every publish command (under a batch, for the lines that do not
/// say) and on `dq render`. None has an environment variable: each describes one event, not
/// a setting.
#[derive(Debug, Clone, Default, Args)]
pub struct PresentationArgs {
    /// Title of the message, in place of the type's
    #[arg(long, global = true, value_name = "TEXT")]
    pub title: Option<String>,

    /// Text of the message (Markdown), in place of the type's
    #[arg(long, global = true, value_name = "TEXT")]
    pub body: Option<String>,

    /// How much it matters: an emoji before the title and a colour (blue, green, orange, red)
    #[arg(
        long,
        global = true,
        value_name = "LEVEL",
        value_parser = clap::builder::PossibleValuesParser::new(Level::NAMES)
    )]
    pub level: Option<String>,

    /// Colour of the message: red, orange, yellow, green, blue, purple, grey or #RRGGBB
    /// (wins over --level's)
    #[arg(long, global = true, value_name = "COLOR", value_parser = parse_color_flag)]
    pub color: Option<String>,

    /// Link the title opens (http:// or https://)
    #[arg(long, global = true, value_name = "URL", value_parser = parse_url_flag)]
    pub url: Option<String>,
}

impl PresentationArgs {
    pub fn presentation(&self) -> Presentation {
        Presentation {
            title: self.title.clone(),
            body: self.body.clone(),
            level: self.level.clone(),
            color: self.color.clone(),
            url: self.url.clone(),
        }
        .normalized()
    }
}

/// An event as `dq publish event` and `dq render` take it.
#[derive(Debug, Args)]
pub struct EventArgs {
    /// Event type: lowercase letters, digits and '_'
    #[arg(value_name = "TYPE", value_parser = parse_event_type)]
    pub event_type: String,
    /// The payload, a JSON object
    #[arg(long, value_name = "JSON", value_parser = parse_payload, conflicts_with = "fields")]
    pub payload: Option<Map<String, Value>>,
    /// A payload entry: KEY=text, or KEY:=JSON for a number, boolean, list or object
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field)]
    pub fields: Vec<(String, Value)>,
}

impl EventArgs {
    /// The payload, in the order given.
    pub fn payload(self) -> Map<String, Value> {
        self.payload
            .unwrap_or_else(|| self.fields.into_iter().collect())
    }
}

#[derive(Debug, Subcommand)]
pub enum PublishKind {
    /// A backup failed
    BackupError {
        /// What failed: compression, upload, ... (stored as backup_<TYPE>)
        #[arg(long, value_name = "TYPE", value_parser = non_empty)]
        error_type: String,
        /// The error message
        #[arg(long)]
        message: String,
        /// The backup file concerned
        #[arg(long, value_name = "FILE")]
        file: Option<String>,
    },
    /// A backup finished
    BackupSuccess {
        /// The backup file
        #[arg(long, value_name = "FILE")]
        file: String,
        /// Its size in megabytes
        #[arg(long, value_name = "MB", value_parser = non_negative, allow_negative_numbers = true)]
        size_mb: f64,
        /// How long it took, in seconds
        #[arg(
            long,
            value_name = "SECONDS",
            value_parser = non_negative,
            allow_negative_numbers = true
        )]
        duration: f64,
    },
    /// The Minecraft server changed state
    MinecraftStatus {
        #[arg(long, value_enum)]
        status: MinecraftState,
        /// Address players connect to
        #[arg(long)]
        ip: Option<String>,
        #[arg(
            long,
            default_value_t = 25565,
            value_parser = clap::value_parser!(u16).range(1..),
            allow_negative_numbers = true
        )]
        port: u16,
        /// Players online
        #[arg(
            long,
            value_name = "N",
            default_value_t = 0,
            value_parser = clap::value_parser!(u32).range(0..=1_000_000),
            allow_negative_numbers = true
        )]
        players: u32,
    },
    /// The Codespace started, stopped or hit an error
    CodespaceStatus {
        #[arg(long, value_enum)]
        action: CodespaceAction,
        /// Extra detail shown in the message (repeatable)
        #[arg(long = "detail", value_name = "KEY=VALUE", value_parser = parse_field)]
        details: Vec<(String, Value)>,
    },
    /// Any event type, with a JSON payload or fields
    Event(EventArgs),
    /// A plain notification: the text is the message (type "message")
    Message {
        /// The text (Markdown)
        #[arg(value_name = "TEXT", value_parser = non_empty)]
        text: String,
    },
    /// Newline-delimited JSON events from stdin: {event_type, payload, user_id?, dedup_key?,
    /// title?, body?, level?, color?, url?}
    Batch,
    /// A test notification
    Test {
        #[arg(long, default_value = "Notificación de prueba de dq")]
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinecraftState {
    Online,
    Offline,
    Starting,
    Stopping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodespaceAction {
    Started,
    Stopped,
    Error,
}

#[derive(Debug, Args)]
pub struct FailedArgs {
    /// Show at most this many, the most recent
    #[arg(
        long,
        default_value_t = 50,
        value_parser = clap::value_parser!(i64).range(1..=100_000),
        allow_negative_numbers = true
    )]
    pub limit: i64,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["ids", "all"]))]
pub struct RetryArgs {
    /// Ids of failed events
    #[arg(
        value_name = "ID",
        value_parser = clap::value_parser!(i64).range(1..),
        allow_negative_numbers = true
    )]
    pub ids: Vec<i64>,
    /// Every failed event
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Delete processed events older than this many days
    #[arg(
        long,
        default_value_t = 7,
        value_parser = clap::value_parser!(u32).range(0..=36_500),
        allow_negative_numbers = true
    )]
    pub days: u32,
    /// Also delete dead-lettered events that old
    #[arg(long)]
    pub include_failed: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(
        long,
        env = "DQ_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub bind: String,

    /// Bearer token clients must send [default: generated, stored next to the database]
    #[arg(long, env = "DQ_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Accept requests without a token (for the original bot); anyone who reaches the port
    /// can then read and change the queue
    #[arg(long, env = "DQ_NO_AUTH")]
    pub no_auth: bool,

    /// Delete processed events older than this (e.g. 12h, 7d)
    #[arg(
        long,
        env = "DQ_RETENTION",
        default_value = "7d",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub retention: Duration,

    /// Threads answering requests (long polls wait without holding one)
    #[arg(
        long,
        env = "DQ_WORKERS",
        default_value_t = 8,
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub workers: u16,

    /// Drop a client that sends nothing for this long, mid-request or between requests
    #[arg(
        long,
        env = "DQ_REQUEST_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = parse_positive_duration
    )]
    pub request_timeout: Duration,

    /// Serve at most this many connections at once; beyond, a new one gets a quick 503 (a
    /// health check still gets through)
    #[arg(
        long,
        env = "DQ_MAX_CONNECTIONS",
        default_value_t = 256,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=65_536)
    )]
    pub max_connections: u32,

    /// Backoff after a first failed attempt; each later one waits ten times longer
    #[arg(
        long,
        env = "DQ_RETRY_BACKOFF",
        default_value = "60s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub retry_backoff: Duration,

    /// Announce this serve to a consumer (`dq consume --announce-key`) at this base URL, at
    /// start, every --announce-every, and whenever events wait with nobody claiming them, which
    /// wakes a consumer its host put to sleep (repeatable or comma-separated)
    #[arg(
        long = "announce",
        env = "DQ_ANNOUNCE",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub announce: Vec<String>,

    /// The key the consumers were started with (their --announce-key); sent as a bearer token
    #[arg(
        long,
        env = "DQ_ANNOUNCE_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub announce_key: Option<String>,

    /// The URL consumers reach this serve at, sent in each announcement [default: in a
    /// Codespace, the forwarded URL of the port serve listens on]
    #[arg(long, env = "DQ_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Announce again this often, so a consumer that restarted relearns this serve and a host
    /// that sleeps idle services (Render's free plan: after 15 minutes) keeps it awake
    #[arg(
        long,
        env = "DQ_ANNOUNCE_EVERY",
        default_value = "5m",
        value_name = "DURATION",
        value_parser = parse_positive_duration
    )]
    pub announce_every: Duration,
}

/// `dq render`: what `dq publish event` takes, and what shapes the message as consume sends it.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub event: EventArgs,

    #[command(flatten)]
    pub presentation: PresentationArgs,

    /// Codespace name added to the payload
    #[arg(long, env = "CODESPACE_NAME", value_name = "NAME")]
    pub codespace: Option<String>,

    /// Discord user the event is for (pinged with --mention)
    #[arg(
        long,
        env = "DISCORD_USER_ID",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true,
        value_name = "ID"
    )]
    pub user_id: String,

    /// Language of the message
    #[arg(long, env = "DQ_LANG", value_enum, default_value_t = Lang::Es)]
    pub lang: Lang,

    /// Ping the event's user in the message content, as `dq consume --mention` does
    #[arg(long, env = "DQ_MENTION")]
    pub mention: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `dq consume`: where events come from, where they go, and how.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// A dq server or original Flask API to take events from (repeatable), optionally with
    /// its own token and headers: "URL;token=TOKEN;header=Name: value"; none (and no
    /// --announce-key) means the local database (--db)
    // Parsed by `client::parse_source` in `cmd::consume`, not here: clap's errors repeat the
    // value, and the value may hold a token.
    #[arg(
        long = "source",
        env = "DQ_SOURCES",
        value_delimiter = ',',
        value_name = "URL",
        hide_env_values = true
    )]
    pub sources: Vec<String>,

    /// Bearer token for the sources that do not give their own (the one `dq serve` printed)
    #[arg(long, env = "DQ_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Accept sources that announce themselves (POST /sources on the --listen address) from
    /// whoever sends "Authorization: Bearer KEY"; each brings its own URL and token
    // An empty value (`DQ_ANNOUNCE_KEY=`) means off, as an unset variable would; so `--once`
    // is refused in `cmd::consume`, not with clap's `conflicts_with`, which counts it as set.
    #[arg(
        long,
        env = "DQ_ANNOUNCE_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub announce_key: Option<String>,

    /// Accept announced sources at plain http:// URLs and at loopback or private addresses
    /// (otherwise only https:// to the internet)
    #[arg(long, env = "DQ_ALLOW_HTTP_SOURCES")]
    pub allow_http_sources: bool,

    /// Forget an announced source that has neither announced itself nor answered for this long
    #[arg(
        long,
        env = "DQ_FORGET_AFTER",
        default_value = "15m",
        value_name = "DURATION",
        value_parser = parse_positive_duration
    )]
    pub forget_after: Duration,

    /// Refuse announcements of new sources once this many are known (503)
    #[arg(
        long,
        env = "DQ_MAX_SOURCES",
        default_value_t = 1000,
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    pub max_sources: u16,

    /// Extra header on requests to the --source sources, e.g. "X-Github-Token: ..." for a
    /// private Codespace port (repeatable; never sent to announced sources)
    #[arg(
        long = "header",
        env = "DQ_HEADER",
        value_name = "NAME: VALUE",
        value_parser = crate::client::parse_header,
        hide_env_values = true
    )]
    pub headers: Vec<(String, String)>,

    #[command(flatten)]
    pub discord: DiscordArgs,

    /// Ping the event's user in the message content (webhook delivery)
    #[arg(long, env = "DQ_MENTION")]
    pub mention: bool,

    /// Print each message as one JSON line instead of sending it; nothing is marked
    #[arg(long, env = "DQ_DRY_RUN")]
    pub dry_run: bool,

    /// Deliver what is due now, then exit (1 if anything failed)
    #[arg(long, env = "DQ_ONCE")]
    pub once: bool,

    /// Long-poll a source for this many seconds
    #[arg(
        long,
        env = "DQ_WAIT",
        default_value_t = 25,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(0..=60)
    )]
    pub wait: u64,

    /// Poll a source that answers at once (does not long-poll) this often, in seconds
    #[arg(
        long,
        env = "DQ_POLL",
        default_value_t = 30,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub poll: u64,

    /// How long claimed events stay reserved for this consumer, in seconds
    #[arg(
        long,
        env = "DQ_LEASE",
        default_value_t = 60,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(10..=3600)
    )]
    pub lease: u64,

    /// Local database only: backoff after a first failed attempt; each later one waits ten
    /// times longer (with --source, the server's --retry-backoff applies)
    #[arg(
        long,
        env = "DQ_RETRY_BACKOFF",
        default_value = "60s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub retry_backoff: Duration,

    /// Language of the messages
    #[arg(long, env = "DQ_LANG", value_enum, default_value_t = Lang::Es)]
    pub lang: Lang,

    /// Answer /health, /metrics (and /sources with --announce-key) on this address [default
    /// where PORT is set, as on Render, Railway, Fly, Heroku or Cloud Run: 0.0.0.0:$PORT]
    #[arg(long, env = "DQ_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
}

/// Where messages go: a channel webhook or a bot, and the API base both are reached at. One
/// definition for `dq consume`, which delivers with them, and `dq setup`, which checks and
/// saves them, so the flags, env vars and config keys cannot drift apart.
#[derive(Debug, Clone, Args)]
pub struct DiscordArgs {
    /// Discord channel webhook URL, as copied from Discord
    #[arg(
        long,
        env = "DISCORD_WEBHOOK_URL",
        value_name = "URL",
        hide_env_values = true,
        conflicts_with = "bot_token"
    )]
    pub webhook: Option<String>,

    /// Bot token: send each event as a direct message to its user
    #[arg(
        long,
        env = "DISCORD_BOT_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub bot_token: Option<String>,

    /// Base URL of Discord's API (for bot requests, and webhooks when changed)
    #[arg(
        long,
        env = "DISCORD_API_BASE",
        default_value = crate::discord::DEFAULT_API_BASE,
        value_name = "URL"
    )]
    pub discord_api: String,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print every setting: its value and where it comes from (flag, env, file or default);
    /// takes every setting's flag, to show what a command given it would use
    Show,
    /// Set KEY to VALUE in the config file (a list takes a comma-separated VALUE)
    Set {
        /// A setting's key, its long flag name: webhook, user-id, sources, ...
        key: String,
        /// Parsed as the flag would parse it
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Remove KEY from the config file
    Unset { key: String },
    /// Print where the config file is
    Path,
}

/// `dq setup`: what to check and save. Each setting flag has its env twin, so setup also picks
/// up (and checks) what the environment or the file already holds.
#[derive(Debug, Args)]
pub struct SetupArgs {
    // The webhook or bot token to check and save.
    #[command(flatten)]
    pub discord: DiscordArgs,

    /// Discord user to notify (needed with --bot-token)
    #[arg(
        long,
        env = "DISCORD_USER_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub user_id: Option<String>,

    /// Ask nothing: check what the flags, environment and file give, and fail (exit 1, nothing
    /// written) if it is missing or wrong
    #[arg(long)]
    pub yes: bool,

    /// Send a test notification through the queue (with --yes; otherwise setup asks)
    #[arg(long)]
    pub test: bool,

    /// What to print to run next [default: codespace in a Codespace, else one-machine]
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// Events are published and delivered on this machine (`dq consume` here)
    OneMachine,
    /// Events happen here (a Codespace) and another machine delivers them (`dq serve
    /// --announce` here, `dq consume --announce-key` there)
    Codespace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Spanish, as the original messages
    Es,
    /// English
    En,
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(text.into())
    }
}

fn non_negative(text: &str) -> Result<f64, String> {
    let number: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if number.is_finite() && number >= 0.0 {
        Ok(number)
    } else {
        Err(format!("{text:?} must be a finite number of at least 0"))
    }
}

fn parse_event_type(text: &str) -> Result<String, String> {
    validate_event_type(text).map_err(|error| error.to_string())?;
    Ok(text.into())
}

fn parse_color_flag(text: &str) -> Result<String, String> {
    parse_color(text)?;
    Ok(text.trim().into())
}

fn parse_url_flag(text: &str) -> Result<String, String> {
    validate_url(text.trim())?;
    Ok(text.trim().into())
}

fn parse_dedup_key(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 256 {
        return Err("must be 1 to 256 bytes long".into());
    }
    Ok(text.into())
}

fn parse_payload(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the payload must be a JSON object, like '{\"key\": \"value\"}'".into()),
        Err(error) => Err(format!("the payload is not valid JSON: {error}")),
    }
}

/// `KEY=text` gives a string; `KEY:=json` gives any JSON value.
pub fn parse_field(text: &str) -> Result<(String, Value), String> {
    let (key, value) = if let Some((key, raw)) = text.split_once(":=") {
        let value = serde_json::from_str(raw)
            .map_err(|error| format!("the value of {key:?} is not valid JSON: {error}"))?;
        (key, value)
    } else if let Some((key, value)) = text.split_once('=') {
        (key, Value::String(value.into()))
    } else {
        return Err(format!("{text:?} is not KEY=VALUE"));
    };
    if key.is_empty() {
        return Err(format!("{text:?} has an empty key"));
    }
    Ok((key.into(), value))
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        Err("must be at least 1s".into())
    } else {
        Ok(duration)
    }
}

/// A duration such as `90`, `30s`, `10m`, `2h` or `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 10m, 2h or 1d"))?;
    let unit_seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} has an unknown unit; use s, m, h or d")),
    };
    number
        .checked_mul(unit_seconds)
        .filter(|seconds| *seconds <= 366 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is longer than a year"))
}

/// A duration as [`parse_duration`] takes it, in its largest whole unit: `5m`, `90s`, `2h`.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        _ if seconds >= 86_400 && seconds % 86_400 == 0 => format!("{}d", seconds / 86_400),
        _ if seconds >= 3600 && seconds % 3600 == 0 => format!("{}h", seconds / 3600),
        _ if seconds >= 60 && seconds % 60 == 0 => format!("{}m", seconds / 60),
        _ => format!("{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_are_written_as_they_are_parsed() {
        for (seconds, text) in [
            (300, "5m"),
            (90, "90s"),
            (7200, "2h"),
            (1, "1s"),
            (172_800, "2d"),
        ] {
            let duration = Duration::from_secs(seconds);
            assert_eq!(format_duration(duration), text);
            assert_eq!(parse_duration(text), Ok(duration));
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn fields_are_text_or_json() {
        assert_eq!(parse_field("a=b=c").unwrap(), ("a".into(), json!("b=c")));
        assert_eq!(parse_field("n:=5").unwrap(), ("n".into(), json!(5)));
        assert!(parse_field("novalue").is_err());
        assert!(parse_field("=x").is_err());
        assert!(parse_field("n:=nope").is_err());
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        for bad in ["", "m", "-1s", "5w", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
