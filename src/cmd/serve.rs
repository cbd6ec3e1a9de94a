//! `dq serve`: resolves the server's settings and token, prints where it listens, starts
//! announcing it to consumers (`--announce`), and runs the server until SIGTERM or SIGINT.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{print, stop_signal, Settings, UsageError};
use crate::announce::{self, consumer_url};
use crate::api::Announcement;
use crate::cli::ServeArgs;
use crate::secret::{self, mask_url};
use crate::server::{Config, Server};
use crate::store::Policy;
use crate::watch::{Mode, FALLBACK_INTERVAL};

pub fn run(settings: &Settings, args: &ServeArgs) -> Result<ExitCode> {
    // Before anything is created or listens: a mistake here is a usage error.
    let announcing = Announcing::from_args(args)?;
    let policy = Policy {
        backoff_base: args.retry_backoff,
        backoff_cap: Policy::default().backoff_cap.max(args.retry_backoff),
        ..settings.policy
    };
    // Create and migrate the database before anything listens, so a bad path fails at once.
    drop(
        crate::store::Store::open(&settings.db_path, policy, settings.busy_timeout)
            .context("preparing the queue")?,
    );
    let token = resolve_token(settings, args)?;
    let config = Config {
        bind: args.bind.clone(),
        db_path: settings.db_path.clone(),
        policy,
        busy_timeout: settings.busy_timeout,
        token: token.as_ref().map(|(token, _)| token.clone()),
        retention: args.retention,
        workers: usize::from(args.workers),
        request_timeout: args.request_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        codespace: std::env::var("CODESPACE_NAME")
            .ok()
            .filter(|name| !name.is_empty()),
    };
    let server = Server::bind(config)?;

    // Registered before the address is printed: whoever starts us may signal us right after.
    let mut stop = stop_signal()?;

    let addr = server.local_addr();
    let mut notes = Vec::new();
    match &token {
        Some((_, Some(path))) => notes.push(format!(
            "dq serve: clients must send \"Authorization: Bearer <token>\"; the token is in {} \
             (consume: --token \"$(cat {})\")",
            path.display(),
            path.display()
        )),
        Some((_, None)) => notes.push(
            "dq serve: clients must send \"Authorization: Bearer <token>\" with the token from \
             --token/DQ_TOKEN"
                .to_string(),
        ),
        None => notes.push(
            "dq serve: warning: --no-auth: anyone who can reach this port can read and change \
             the queue"
                .to_string(),
        ),
    }
    if let Mode::Polling(reason) = server.watch().mode() {
        notes.push(format!(
            "dq serve: cannot watch the database for changes ({reason}); long polls notice \
             publishes from other processes within {} s instead",
            FALLBACK_INTERVAL.as_secs()
        ));
    }
    // Only `--no-auth` leaves no token, and `--announce` with it was refused above.
    let announcer = match (announcing, &token) {
        (Some(announcing), Some((token, _))) => {
            let announcer = announcing.resolve(token, addr.port());
            notes.push(announcer.note.clone());
            Some(announcer)
        }
        _ => None,
    };
    if let Some(url) = codespace_url(addr.port()) {
        if announcer.is_some() {
            notes.push(format!(
                "dq serve: forwarded in this Codespace as {url}; consumers reach it only if the \
                 port is public (gh codespace ports visibility {port}:public -c \"$CODESPACE_NAME\")",
                port = addr.port()
            ));
        } else {
            notes.push(format!(
                "dq serve: forwarded in this Codespace as {url} (make the port public, or have \
                 the consumer send a GitHub token: dq consume --source {url} --header \
                 \"X-Github-Token: ...\")"
            ));
        }
    }
    // The notes go first: the address line on stdout is the signal that serve is ready.
    let _ = io::stderr().write_all(format!("{}\n", notes.join("\n")).as_bytes());
    print(&format!("dq serve listening on http://{addr}\n"))?;

    if let Some(announcer) = announcer {
        // Its own connection: the wake rule reads the queue without taking a worker's.
        let store = crate::store::Store::open(&settings.db_path, policy, settings.busy_timeout)
            .context("opening the queue for the announcer")?;
        let log: announce::Log = Arc::new(|line: &str| {
            let _ = writeln!(io::stderr(), "{line}");
        });
        announce::start(announcer.settings, server.activity(), store, log)?;
    }

    // Blocks, costing nothing, until SIGTERM or SIGINT writes to the pipe.
    server.run(move || loop {
        match stop.read(&mut [0u8; 1]) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            _ => break,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `--announce` and its companions, checked before serve starts. The public URL may still be
/// unknown: in a Codespace it is the forwarded URL of the port serve ends up on.
struct Announcing {
    consumers: Vec<String>,
    key: String,
    public_url: Option<String>,
    every: Duration,
}

/// What the announcer starts with, and the note that says so.
struct Announcer {
    settings: announce::Settings,
    note: String,
}

impl Announcing {
    /// `None` without `--announce` (an empty `DQ_ANNOUNCE=` too): then the key and the public
    /// URL, which a shared config file may set for consume, are not used.
    fn from_args(args: &ServeArgs) -> Result<Option<Announcing>, UsageError> {
        let mut consumers = Vec::new();
        for url in args.announce.iter().map(|url| url.trim()) {
            if url.is_empty() {
                continue;
            }
            let url = consumer_url(url).map_err(|why| {
                // Shown as given, for the typo to be seen, unless it may carry a secret.
                let shown = if url.contains(['@', '?']) {
                    mask_url(url)
                } else {
                    url.to_string()
                };
                UsageError(format!("--announce {shown}: {why}"))
            })?;
            if !consumers.contains(&url) {
                consumers.push(url);
            }
        }
        if consumers.is_empty() {
            return Ok(None);
        }
        if args.no_auth {
            return Err(UsageError(
                "--announce cannot be used with --no-auth: consumers would be told to deliver \
                 from a queue anyone can read and change; drop --no-auth (serve then makes a \
                 token and announces it)"
                    .into(),
            ));
        }
        let key = args.announce_key.as_deref().map_or("", str::trim);
        if key.is_empty() {
            return Err(UsageError(
                "--announce needs --announce-key KEY (DQ_ANNOUNCE_KEY): the key the consumer \
                 was started with"
                    .into(),
            ));
        }
        if key.len() > 1024
            || !key
                .bytes()
                .all(|byte| byte == b' ' || byte.is_ascii_graphic())
        {
            return Err(UsageError(
                "--announce-key must be printable ASCII, at most 1024 bytes".into(),
            ));
        }
        let public_url = match args.public_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Some(
                crate::client::normalize_source_url(url, true)
                    .map_err(|why| UsageError(format!("--public-url: {why}")))?,
            ),
            _ if codespace_url(0).is_some() => None,
            _ => {
                return Err(UsageError(
                    "--announce needs --public-url URL (DQ_PUBLIC_URL): the address consumers \
                     reach this serve at, such as https://my-host.example (only in a Codespace \
                     is it known without it: the port's forwarded URL)"
                        .into(),
                ))
            }
        };
        Ok(Some(Announcing {
            consumers,
            key: key.to_string(),
            public_url,
            every: args.announce_every,
        }))
    }

    fn resolve(self, token: &str, port: u16) -> Announcer {
        let url = self
            .public_url
            .or_else(|| codespace_url(port))
            .unwrap_or_default();
        let mut note = format!(
            "dq serve: announcing {url} to {} every {}, and when events wait with nobody \
             claiming them",
            self.consumers.join(", "),
            crate::cli::format_duration(self.every)
        );
        if url.starts_with("http://") {
            note.push_str(" (consumers take http:// sources only with --allow-http-sources)");
        }
        if self.consumers.iter().any(|consumer| {
            consumer.starts_with("http://") && !crate::client::at_loopback(consumer)
        }) {
            note.push_str("; warning: the key goes unencrypted to http:// consumers");
        }
        Announcer {
            note,
            settings: announce::Settings {
                consumers: self.consumers,
                key: self.key,
                announcement: Announcement {
                    url,
                    token: Some(token.to_string()),
                    name: source_name(),
                },
                every: self.every,
            },
        }
    }
}

/// What announcements call this serve: the Codespace's name, else the host's.
fn source_name() -> String {
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|value| value.trim().to_string())
    };
    from_env("CODESPACE_NAME")
        .filter(|name| !name.is_empty())
        .or_else(|| {
            fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_string())
        })
        .filter(|name| !name.is_empty())
        .or_else(|| from_env("HOSTNAME").filter(|name| !name.is_empty()))
        .unwrap_or_else(|| "dq serve".to_string())
}

/// `https://{CODESPACE_NAME}-{port}.{domain}` when running in a Codespace (also what `dq setup`
/// says serve will announce).
pub(super) fn codespace_url(port: u16) -> Option<String> {
    let name = std::env::var("CODESPACE_NAME").ok()?;
    let domain = std::env::var("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN").ok()?;
    (!name.is_empty() && !domain.is_empty()).then(|| format!("https://{name}-{port}.{domain}"))
}

/// The token and, when it came from (or went to) a file, that file. `None`: no auth.
fn resolve_token(
    settings: &Settings,
    args: &ServeArgs,
) -> Result<Option<(String, Option<PathBuf>)>> {
    if args.no_auth {
        return Ok(None);
    }
    if let Some(token) = args.token.as_deref().filter(|token| !token.is_empty()) {
        validate_token(token)?;
        return Ok(Some((token.to_string(), None)));
    }
    let mut path = settings.db_path.clone().into_os_string();
    path.push(".token");
    let path = PathBuf::from(path);
    let token = load_or_create_token(&path)?;
    Ok(Some((token, Some(path))))
}

fn validate_token(token: &str) -> Result<()> {
    if token.len() > 1024 || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(UsageError(
            "the token must be printable ASCII without spaces, at most 1024 bytes".into(),
        )
        .into());
    }
    Ok(())
}

/// Reads the token stored next to the database, or creates one (32 random bytes, hex) with
/// mode 0600. An existing file readable by others is narrowed to 0600.
fn load_or_create_token(path: &Path) -> Result<String> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            if !token.is_empty() && validate_token(&token).is_ok() {
                let mode = fs::metadata(path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("restricting {} to mode 0600", path.display()))?;
                }
                return Ok(token);
            }
            // Empty or damaged: replace it.
            fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("reading the token from {}", path.display()))
        }
    }
    let token = secret::random_token().context("generating a token")?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the token file {}", path.display()))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the token file {}", path.display()))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db.token");
        let first = load_or_create_token(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create_token(&path).unwrap(), first);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create_token(&path).unwrap(), first);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
