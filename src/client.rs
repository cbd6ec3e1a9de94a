//! The consumer's side of the HTTP API: a ureq agent that claims events from a `dq serve` or
//! an original Flask API (which has no leases and ignores `wait`) and marks each one
//! processed or failed. Every failure names the source by its masked URL and says what to
//! do about it (a login page means a private Codespace port, 401 a wrong token, ...).

use std::io::Read;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde::de::DeserializeOwned;

use crate::api::{self, EventsQuery, EventsResponse, FailedBody, MarkResponse};
use crate::event::Event;
use crate::secret::mask_url;

/// How long a source may take beyond the long poll it was asked for.
const SLACK: Duration = Duration::from_secs(15);
const NOTHING_ANSWERS: &str =
    "nothing answers there (is `dq serve` running? is the Codespace stopped?)";
/// Answers larger than this are not an events list dq asked for.
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

/// Where a source is and how to authenticate to it.
#[derive(Debug, Clone, Default)]
pub struct SourceConfig {
    /// `https://host:port` (a trailing `/` and a trailing `/discord` are accepted).
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Extra headers on every request (`X-Github-Token` for a private Codespace port).
    pub headers: Vec<(String, String)>,
}

/// One dq server or Flask API.
pub struct HttpSource {
    agent: ureq::Agent,
    base: String,
    masked: String,
    config: SourceConfig,
}

impl HttpSource {
    pub fn new(config: SourceConfig) -> HttpSource {
        let base = config
            .url
            .trim()
            .trim_end_matches('/')
            .trim_end_matches("/discord")
            .to_string();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect is a login page in front of a private port: report it, do not follow.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .user_agent(format!("dq/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        HttpSource {
            agent,
            masked: mask_url(&base),
            base,
            config,
        }
    }

    /// The source's URL with everything secret hidden, for logs and metrics.
    pub fn name(&self) -> &str {
        &self.masked
    }

    /// The full URL, to derive stable nonces from (never logged).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Claims due events (`lease` 0 only reads them).
    pub fn claim(&self, query: &EventsQuery) -> Result<Vec<Event>> {
        let url = format!("{}{}?{}", self.base, api::EVENTS, query.to_query());
        let timeout = Duration::from_secs(query.wait) + SLACK;
        let request = self.agent.get(&url);
        let request = self
            .decorate(request)
            .config()
            .timeout_global(Some(timeout))
            .build();
        let answer: EventsResponse = self.answer(request.call(), "claiming events")?;
        if !answer.success {
            bail!(
                "{}: claiming events: the source answered success=false",
                self.masked
            );
        }
        Ok(answer.events)
    }

    pub fn mark_processed(&self, id: i64) -> Result<()> {
        let url = format!("{}{}", self.base, api::event_action_path(id, "processed"));
        let request = self.decorate(self.agent.post(&url));
        let request = request.config().timeout_global(Some(SLACK)).build();
        let _: MarkResponse = self.answer(
            request
                .header("Content-Type", "application/json")
                .send(b"{}"),
            "marking an event processed",
        )?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, body: &FailedBody) -> Result<()> {
        let url = format!("{}{}", self.base, api::event_action_path(id, "failed"));
        let payload = serde_json::to_vec(body)?;
        let request = self.decorate(self.agent.post(&url));
        let request = request.config().timeout_global(Some(SLACK)).build();
        let _: MarkResponse = self.answer(
            request
                .header("Content-Type", "application/json")
                .send(&payload[..]),
            "marking an event failed",
        )?;
        Ok(())
    }

    fn decorate<B>(&self, mut request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        for (name, value) in &self.config.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(token) = &self.config.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.header("Accept", "application/json")
    }

    /// Reads a JSON answer, or explains why it is not one.
    fn answer<T: DeserializeOwned>(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        doing: &str,
    ) -> Result<T> {
        let source = &self.masked;
        let mut response = result.map_err(|error| {
            let why = match &error {
                ureq::Error::Timeout(_) => {
                    "it did not answer in time (asleep or overloaded?)".into()
                }
                ureq::Error::HostNotFound => "its host name does not resolve".into(),
                ureq::Error::BadUri(_) => "the source URL is not valid".into(),
                ureq::Error::ConnectionFailed => NOTHING_ANSWERS.into(),
                ureq::Error::Io(io)
                    if matches!(
                        io.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    format!("{NOTHING_ANSWERS}: {io}")
                }
                other => other.to_string(),
            };
            anyhow!("{source}: {doing}: {why}")
        })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|value| value.to_str().ok())
                .map(mask_url)
                .unwrap_or_default();
            bail!(
                "{source}: {doing}: redirected to {location} (a login page? a private Codespace \
                 port needs --header \"X-Github-Token: ...\")"
            );
        }
        let mut text = String::new();
        response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .reader()
            .read_to_string(&mut text)
            .map_err(|error| anyhow!("{source}: {doing}: reading the answer: {error}"))?;
        let looks_html = content_type.contains("html") || text.trim_start().starts_with('<');
        if looks_html {
            bail!(
                "{source}: {doing}: HTTP {status} with an HTML page instead of JSON (a login page? \
                 a private Codespace port needs --header \"X-Github-Token: ...\"; a sleeping \
                 host?)"
            );
        }
        let error_text = || {
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|value| {
                    value
                        .get("error")
                        .and_then(|e| e.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| text.chars().take(200).collect())
        };
        match status {
            200..=299 => {}
            401 => bail!(
                "{source}: {doing}: the token was refused (401): set --token (DQ_TOKEN or \
                 `token` in the config file) to the token `dq serve` printed"
            ),
            _ => bail!("{source}: {doing}: HTTP {status}: {}", error_text()),
        }
        serde_json::from_str(&text).map_err(|error| {
            anyhow!("{source}: {doing}: the answer is not the JSON dq expects: {error}")
        })
    }
}

/// Parses `Name: value` as given to `--header`.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!("{text:?} is not \"Name: value\""));
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_".contains(&byte))
    {
        return Err(format!("{name:?} is not a header name"));
    }
    let value = value.trim();
    if value.bytes().any(|byte| byte == b'\r' || byte == b'\n') {
        return Err("a header value cannot span lines".into());
    }
    Ok((name.into(), value.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            parse_header("X-Github-Token: abc:def").unwrap(),
            ("X-Github-Token".into(), "abc:def".into())
        );
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn source_urls_accept_a_trailing_discord_path() {
        let source = HttpSource::new(SourceConfig {
            url: "https://host:8080/discord/".into(),
            ..SourceConfig::default()
        });
        assert_eq!(source.url(), "https://host:8080");
        assert_eq!(source.name(), "https://host:8080/…");
    }
}
