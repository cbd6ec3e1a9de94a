//! Checks that Discord credentials work before `dq setup` saves them, with requests that post
//! nothing: "Get Webhook with Token" (`GET /webhooks/{id}/{token}`, no authentication) for a
//! webhook, "Get Current User" (`GET /users/@me`) for a bot token, and "Get User"
//! (`GET /users/{id}`) for the user a bot will message. No message names the token or the
//! webhook URL.

use std::time::Duration;

use serde_json::Value;

use crate::discord;

/// How long one check waits for Discord.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The webhook, as Discord describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub channel_id: String,
    pub guild_id: Option<String>,
}

/// A user (or a bot's own user), as Discord describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// What was given cannot be right (not a webhook URL, not a user id): Discord was not asked.
    Malformed(String),
    /// Discord said no (unknown webhook, refused token, unknown user).
    Refused(String),
    /// Discord could not be asked, or answered with its own trouble (5xx).
    Unreachable(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Malformed(why) | Failure::Refused(why) | Failure::Unreachable(why) => {
                formatter.write_str(why)
            }
        }
    }
}

/// Asks Discord about the webhook `pasted` (as copied from Discord), through `api` as
/// `dq consume` would post to it.
pub fn check_webhook(pasted: &str, api: &str) -> Result<Webhook, Failure> {
    let url = discord::webhook_url(pasted, api)
        .map_err(|error| Failure::Malformed(format!("that is not a webhook URL: {error}")))?;
    let url = url.split('?').next().unwrap_or(&url);
    let (status, body) = get(url, None)?;
    match status {
        200..=299 => Ok(Webhook {
            id: text(&body, "id"),
            name: text(&body, "name"),
            channel_id: text(&body, "channel_id"),
            guild_id: body
                .get("guild_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        404 => Err(Failure::Refused(format!(
            "Discord does not know this webhook ({}): it was deleted, or the URL is incomplete",
            described(status, &body)
        ))),
        401 | 403 => Err(Failure::Refused(format!(
            "Discord refused the webhook's token ({}): copy the whole URL again",
            described(status, &body)
        ))),
        _ => Err(unexpected(status, &body)),
    }
}

/// Asks Discord who the bot with `token` is.
pub fn check_bot(token: &str, api: &str) -> Result<User, Failure> {
    let token = token.trim();
    if token.is_empty() || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(Failure::Malformed(
            "a bot token is one word of letters, digits, '.', '-' and '_'".into(),
        ));
    }
    let url = format!("{}/users/@me", api.trim_end_matches('/'));
    let (status, body) = get(&url, Some(token))?;
    match status {
        200..=299 => Ok(user(&body)),
        401 | 403 => Err(Failure::Refused(format!(
            "Discord refused the bot token ({}): copy it again from the Developer Portal \
             (your application → Bot → Reset Token)",
            described(status, &body)
        ))),
        _ => Err(unexpected(status, &body)),
    }
}

/// Asks Discord, as the bot with `token`, about the user with `id`.
pub fn check_user(token: &str, api: &str, id: &str) -> Result<User, Failure> {
    let id = id.trim();
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(Failure::Malformed(
            "a Discord user id is a number (Developer Mode on, then right-click your name → \
             Copy User ID)"
                .into(),
        ));
    }
    let url = format!("{}/users/{id}", api.trim_end_matches('/'));
    let (status, body) = get(&url, Some(token.trim()))?;
    match status {
        200..=299 => Ok(user(&body)),
        404 => Err(Failure::Refused(format!(
            "Discord has no user with id {id} ({})",
            described(status, &body)
        ))),
        401 | 403 => Err(Failure::Refused(format!(
            "Discord refused the bot token ({})",
            described(status, &body)
        ))),
        _ => Err(unexpected(status, &body)),
    }
}

fn get(url: &str, bot_token: Option<&str>) -> Result<(u16, Value), Failure> {
    let agent = discord::agent(TIMEOUT);
    let mut request = agent.get(url);
    if let Some(token) = bot_token {
        request = request.header("Authorization", &format!("Bot {token}"));
    }
    let mut response = request.call().map_err(|error| {
        Failure::Unreachable(match error {
            ureq::Error::Timeout(_) => "Discord did not answer in time".into(),
            ureq::Error::HostNotFound => "Discord's host name does not resolve (DNS)".into(),
            ureq::Error::ConnectionFailed => "could not connect to Discord".into(),
            ureq::Error::Io(io) => format!("the connection to Discord failed: {io}"),
            // Its text would carry the URL, and a webhook URL carries its token.
            ureq::Error::BadUri(_) => "the Discord URL is not valid".into(),
            _ => "the request to Discord failed".into(),
        })
    })?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_string()
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    Ok((status, body))
}

fn text(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn user(body: &Value) -> User {
    User {
        id: text(body, "id"),
        username: text(body, "username"),
    }
}

/// `404, code 10015: Unknown Webhook`, from Discord's JSON error.
fn described(status: u16, body: &Value) -> String {
    let message = body.get("message").and_then(Value::as_str);
    match (body.get("code").and_then(Value::as_i64), message) {
        (Some(code), Some(message)) if code != 0 => format!("{status}, code {code}: {message}"),
        (_, Some(message)) => format!("{status}: {message}"),
        _ => format!("HTTP {status}"),
    }
}

fn unexpected(status: u16, body: &Value) -> Failure {
    let described = described(status, body);
    if status >= 500 || status == 429 {
        Failure::Unreachable(format!(
            "Discord could not answer ({described}); try again later"
        ))
    } else {
        Failure::Refused(format!("Discord answered {described}"))
    }
}
