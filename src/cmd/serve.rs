//! `dq serve`: resolves the server's settings and token, prints where it listens, and runs the
//! server until SIGTERM or SIGINT.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{print, stop_signal, Settings, UsageError};
use crate::cli::ServeArgs;
use crate::server::{Config, Server};
use crate::store::Policy;
use crate::watch::{Mode, FALLBACK_INTERVAL};

pub fn run(settings: &Settings, args: &ServeArgs) -> Result<ExitCode> {
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
    if let Some(url) = codespace_url(addr.port()) {
        notes.push(format!(
            "dq serve: forwarded in this Codespace as {url} (make the port public, or have the \
             consumer send a GitHub token: dq consume --source {url} --header \
             \"X-Github-Token: ...\")"
        ));
    }
    // The notes go first: the address line on stdout is the signal that serve is ready.
    let _ = io::stderr().write_all(format!("{}\n", notes.join("\n")).as_bytes());
    print(&format!("dq serve listening on http://{addr}\n"))?;

    // Blocks, costing nothing, until SIGTERM or SIGINT writes to the pipe.
    server.run(move || loop {
        match stop.read(&mut [0u8; 1]) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            _ => break,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `https://{CODESPACE_NAME}-{port}.{domain}` when running in a Codespace.
fn codespace_url(port: u16) -> Option<String> {
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
    let token = random_token().context("generating a token")?;
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

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
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
