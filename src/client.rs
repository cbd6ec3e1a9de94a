//! The consumer's side of the HTTP API: a ureq agent that claims events from a `dq serve` or
//! an original Flask API (which has no leases and ignores `wait`) and acknowledges them,
//! processed or failed. Every failure names the source by its masked URL and says what to do
//! about it (a login page means a private Codespace port, 401 a wrong token, ...).
//!
//! A `dq serve` claims with `POST /discord/events/claim` and takes a whole message's
//! acknowledgements in one `POST /discord/events/ack`. A source without those routes (404 or
//! 405: a `dq serve` from before them, or the original API) is claimed from with
//! `GET /discord/events?lease=` and marked one event at a time, and that is remembered until
//! the source next fails to answer (it may come back upgraded).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde::de::DeserializeOwned;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::api::{
    self, AckEvent, AckRequest, AckResponse, AckStatus, EventsQuery, EventsResponse, FailedBody,
    MarkResponse,
};
use crate::event::Event;
use crate::secret::mask_url;

/// How long a source may take beyond the long poll it was asked for.
const SLACK: Duration = Duration::from_secs(15);
const NOTHING_ANSWERS: &str =
    "nothing answers there (is `dq serve` running? is the Codespace stopped?)";
/// Answers larger than this are not an events list dq asked for.
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;
/// Each connection's input and output buffer: a response head must fit in the input one.
const BUFFER_BYTES: usize = 16 * 1024;
/// Source URLs longer than this are refused (browsers and proxies stop near 2,000 too).
pub const MAX_URL_BYTES: usize = 2048;

/// Where a source is and how to authenticate to it.
#[derive(Clone, Default)]
pub struct SourceConfig {
    /// `https://host:port` (a trailing `/` and a trailing `/discord` are accepted).
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Extra headers on every request (`X-Github-Token` for a private Codespace port).
    pub headers: Vec<(String, String)>,
}

/// Written by hand so that the token and header values never reach a log through `{:?}`.
impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        formatter
            .debug_struct("SourceConfig")
            .field("url", &mask_url(&self.url))
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("headers", &headers)
            .finish()
    }
}

/// One dq server or Flask API.
pub struct HttpSource {
    agent: ureq::Agent,
    base: String,
    masked: String,
    config: SourceConfig,
    claim_route: Route,
    ack_route: Route,
}

/// Whether a source has one of the newer routes, as learnt from its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Unknown,
    Present,
    /// It answered 404 or 405: use the older way.
    Missing,
}

/// An answer before it is read as JSON.
struct Reply {
    status: u16,
    content_type: String,
    text: String,
}

impl Reply {
    /// The route does not exist there (an older serve, the original API).
    fn route_missing(&self) -> bool {
        matches!(self.status, 404 | 405)
    }
}

/// An agent for many sources at once: one connection pool and one TLS configuration (its
/// root certificates are the largest part of an agent) shared by every source, with room
/// for `sources` idle connections, one per source between its requests.
pub fn agent(sources: usize) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A redirect is a login page in front of a private port: report it, do not follow.
        .max_redirects(0)
        .timeout_connect(Some(Duration::from_secs(10)))
        .max_idle_connections(sources.max(1))
        .max_idle_connections_per_host(2)
        // ureq's default buffers are 128 KiB each way per connection, most of a source's
        // memory (bench/announce.sh: 382 KiB per source with them). An answer streams through
        // the input buffer whatever its size; only a response head must fit in it.
        .input_buffer_size(BUFFER_BYTES)
        .output_buffer_size(BUFFER_BYTES)
        .user_agent(format!("dq/{}", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(config, DefaultConnector::default(), AddressFirst::default())
}

/// ureq resolves the host before every request, kept-alive connection or not, and with a
/// timeout set (every request here has one) it does so on a new thread, to give up on a slow
/// lookup: a thread per claim and per acknowledgement, even for a source at an IP address,
/// which needs no lookup at all. An address is used as it is; a name goes to ureq's resolver.
#[derive(Debug, Default)]
struct AddressFirst(DefaultResolver);

impl Resolver for AddressFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let address = uri.authority().and_then(|authority| {
            let host = authority.host();
            let host = host
                .strip_prefix('[')
                .and_then(|host| host.strip_suffix(']'))
                .unwrap_or(host);
            let ip: IpAddr = host.parse().ok()?;
            let port = authority.port_u16().or(match uri.scheme_str() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            })?;
            Some(SocketAddr::new(ip, port))
        });
        match address {
            Some(address) => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

impl HttpSource {
    pub fn new(config: SourceConfig) -> HttpSource {
        HttpSource::with_agent(config, agent(1))
    }

    /// A source whose requests go through `agent` (shared with other sources).
    pub fn with_agent(config: SourceConfig, agent: ureq::Agent) -> HttpSource {
        let base = base_url(&config.url);
        HttpSource {
            agent,
            masked: mask_url(&base),
            base,
            config,
            claim_route: Route::Unknown,
            ack_route: Route::Unknown,
        }
    }

    /// True once the source showed it has neither the claim nor the batch ack route.
    pub fn uses_older_routes(&self) -> bool {
        self.claim_route == Route::Missing || self.ack_route == Route::Missing
    }

    /// Sends `token` from the next request on (an announcement brought a new one).
    pub fn set_token(&mut self, token: Option<String>) {
        self.config.token = token;
    }

    /// The source's URL with everything secret hidden, for logs and metrics.
    pub fn name(&self) -> &str {
        &self.masked
    }

    /// The full URL, to derive stable nonces from (never logged).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Claims due events for `query.lease` seconds, waiting up to `query.wait` for one; a
    /// `lease` of 0 only reads them (`GET`, which never claims on a `dq serve`).
    pub fn claim(&mut self, query: &EventsQuery) -> Result<Vec<Event>> {
        if query.lease == 0 || self.claim_route == Route::Missing {
            return self.events(query);
        }
        let url = format!("{}{}?{}", self.base, api::CLAIM, query.to_query());
        let request = self.decorate(self.agent.post(&url));
        let request = request
            .config()
            .timeout_global(Some(Duration::from_secs(query.wait) + SLACK))
            .build()
            .header("Content-Type", "application/json");
        let reply = self.fetch(request.send(b"{}"), "claiming events")?;
        if reply.route_missing() {
            self.claim_route = Route::Missing;
            return self.events(query);
        }
        self.claim_route = Route::Present;
        events_of(self.decode(reply, "claiming events")?, &self.masked)
    }

    /// `GET /discord/events`: claims on a serve from before `POST /discord/events/claim` (when
    /// `lease` is not 0) and on the original API (which knows no leases); only reads on today's.
    fn events(&mut self, query: &EventsQuery) -> Result<Vec<Event>> {
        let url = format!("{}{}?{}", self.base, api::EVENTS, query.to_query());
        let request = self.decorate(self.agent.get(&url));
        let request = request
            .config()
            .timeout_global(Some(Duration::from_secs(query.wait) + SLACK))
            .build();
        let reply = self.fetch(request.call(), "claiming events")?;
        events_of(self.decode(reply, "claiming events")?, &self.masked)
    }

    /// Records `events`' outcomes in order: up to 100 in one request where the source has
    /// `POST /discord/events/ack` (one transaction there), else one request each. Returns how
    /// many were recorded, and the error that stopped it, if any: the rest are for later.
    pub fn ack(&mut self, events: &[AckEvent]) -> (usize, Option<anyhow::Error>) {
        let mut recorded = 0;
        while recorded < events.len() {
            let rest = &events[recorded..];
            let step = if self.ack_route == Route::Missing {
                self.mark(&rest[0]).map(|()| 1)
            } else {
                let batch = &rest[..rest.len().min(AckRequest::MAX_EVENTS)];
                match self.ack_batch(batch) {
                    // No such route: the loop goes on one event at a time.
                    Ok(false) => Ok(0),
                    Ok(true) => Ok(batch.len()),
                    Err(error) => Err(error),
                }
            };
            match step {
                Ok(count) => recorded += count,
                Err(error) => return (recorded, Some(error)),
            }
        }
        (recorded, None)
    }

    /// One `POST /discord/events/ack`; false if the source has no such route. Every event gets
    /// its own result there (an unknown or already processed id spoils nothing), so a 200 means
    /// all of them are recorded.
    fn ack_batch(&mut self, events: &[AckEvent]) -> Result<bool> {
        let doing = "acknowledging events";
        let url = format!("{}{}", self.base, api::ACK);
        let body = serde_json::to_vec(&AckRequest {
            events: events.to_vec(),
        })?;
        let request = self.decorate(self.agent.post(&url));
        let request = request.config().timeout_global(Some(SLACK)).build();
        let reply = self.fetch(
            request
                .header("Content-Type", "application/json")
                .send(&body[..]),
            doing,
        )?;
        if reply.route_missing() {
            self.ack_route = Route::Missing;
            return Ok(false);
        }
        self.ack_route = Route::Present;
        let answer: AckResponse = self.decode(reply, doing)?;
        if !answer.success {
            bail!(
                "{}: {doing}: the source answered success=false",
                self.masked
            );
        }
        Ok(true)
    }

    /// `POST /discord/events/{id}/processed` or `.../failed`, for a source without the batch
    /// route. An event the source no longer has (404) has nothing left to record.
    fn mark(&mut self, event: &AckEvent) -> Result<()> {
        let (action, body, doing) = match event.status {
            AckStatus::Processed => ("processed", b"{}".to_vec(), "marking an event processed"),
            AckStatus::Failed => {
                let body = FailedBody {
                    error_message: event.error_message.clone().unwrap_or_default(),
                    retryable: event.retryable,
                    retry_after: event.retry_after,
                };
                (
                    "failed",
                    serde_json::to_vec(&body)?,
                    "marking an event failed",
                )
            }
        };
        let url = format!("{}{}", self.base, api::event_action_path(event.id, action));
        let request = self.decorate(self.agent.post(&url));
        let request = request.config().timeout_global(Some(SLACK)).build();
        let reply = self.fetch(
            request
                .header("Content-Type", "application/json")
                .send(&body[..]),
            doing,
        )?;
        if reply.status == 404 && !reply.looks_html() {
            return Ok(());
        }
        let _: MarkResponse = self.decode(reply, doing)?;
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

    /// Sends a request and reads its answer, or explains why there is none (nothing
    /// answers, a timeout, a redirect to a login page). A source that does not answer may come
    /// back upgraded, so what was learnt about its routes is forgotten.
    fn fetch(
        &mut self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        doing: &str,
    ) -> Result<Reply> {
        let source = &self.masked;
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                self.claim_route = Route::Unknown;
                self.ack_route = Route::Unknown;
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
                            std::io::ErrorKind::ConnectionRefused
                                | std::io::ErrorKind::ConnectionReset
                        ) =>
                    {
                        format!("{NOTHING_ANSWERS}: {io}")
                    }
                    other => other.to_string(),
                };
                bail!("{source}: {doing}: {why}");
            }
        };
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
        Ok(Reply {
            status,
            content_type,
            text,
        })
    }

    /// Reads a JSON answer, or explains why it is not one.
    fn decode<T: DeserializeOwned>(&self, reply: Reply, doing: &str) -> Result<T> {
        let source = &self.masked;
        let Reply { status, text, .. } = &reply;
        if reply.looks_html() {
            bail!(
                "{source}: {doing}: HTTP {status} with an HTML page instead of JSON (a login page? \
                 a private Codespace port needs --header \"X-Github-Token: ...\"; a sleeping \
                 host?)"
            );
        }
        let error_text = || {
            serde_json::from_str::<serde_json::Value>(text)
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
        serde_json::from_str(text).map_err(|error| {
            anyhow!("{source}: {doing}: the answer is not the JSON dq expects: {error}")
        })
    }
}

impl Reply {
    fn looks_html(&self) -> bool {
        self.content_type.contains("html") || self.text.trim_start().starts_with('<')
    }
}

/// The events of an answer that says it succeeded.
fn events_of(answer: EventsResponse, source: &str) -> Result<Vec<Event>> {
    if !answer.success {
        bail!("{source}: claiming events: the source answered success=false");
    }
    Ok(answer.events)
}

/// A source URL without the trailing `/` or `/discord` users may paste.
pub fn base_url(url: &str) -> String {
    url.trim()
        .trim_end_matches('/')
        .trim_end_matches("/discord")
        .to_string()
}

/// Checks a source URL someone announced and gives it the one form the consumer keys it by:
/// `https` (or `http` when `allow_http`), a host, an optional port and path; no user info
/// (the consumer sends only the announced token), no query or fragment (the API's paths are
/// appended to it), at most `MAX_URL_BYTES`. Errors never repeat the URL: it may hold a secret.
pub fn normalize_source_url(url: &str, allow_http: bool) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("the source URL is empty".into());
    }
    if url.len() > MAX_URL_BYTES {
        return Err(format!(
            "the source URL is longer than {MAX_URL_BYTES} bytes"
        ));
    }
    if url.contains('#') {
        return Err("a source URL cannot have a fragment (#...)".into());
    }
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|_| "the source URL is not a valid URL".to_string())?;
    let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(
                "plain http:// source URLs need --allow-http-sources on the \
                        consumer (use https://)"
                    .into(),
            )
        }
        "" => return Err("the source URL needs https://".into()),
        _ => return Err("a source URL must start with https:// (or http://)".into()),
    }
    let authority = uri
        .authority()
        .map(|authority| authority.as_str())
        .unwrap_or("");
    if authority.contains('@') {
        return Err(
            "a source URL cannot carry a user name or password; announce a token instead".into(),
        );
    }
    if uri
        .host()
        .is_none_or(|host| host.is_empty() || host == "[]")
    {
        return Err("the source URL has no host".into());
    }
    // The port, if any, follows the last ':' after an IPv6 literal's ']'.
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, rest)| rest);
    if after_host.contains(':') && uri.port_u16().is_none_or(|port| port == 0) {
        return Err("the source URL's port is not a number from 1 to 65535".into());
    }
    if uri.query().is_some() {
        return Err("a source URL cannot have a query string (?...)".into());
    }
    // Whoever holds the key chooses where the consumer sends requests: without
    // --allow-http-sources, not to this machine or a private network (the answers' errors
    // show in GET /sources).
    let host = uri.host().unwrap_or("").trim_matches(['[', ']']);
    if !allow_http
        && host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| !is_public(ip))
    {
        return Err(
            "a source URL cannot point at a loopback, private or link-local address \
                    without --allow-http-sources on the consumer"
                .into(),
        );
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let authority = authority.to_ascii_lowercase();
    let authority = match uri.port_u16() {
        Some(port) if port == default_port => authority
            .strip_suffix(&format!(":{port}"))
            .unwrap_or(&authority)
            .to_string(),
        _ => authority,
    };
    Ok(base_url(&format!("{scheme}://{authority}{}", uri.path())))
}

/// Whether `url` names this machine (`localhost` or a loopback address), where a plain
/// `http://` request never leaves it.
pub fn at_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<ureq::http::Uri>() else {
        return false;
    };
    let host = uri.host().unwrap_or("").trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An address on the internet, not this machine, a private network or a link.
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                // 100.64.0.0/10, carrier-grade NAT: private in practice.
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])))
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| !is_public(v4.into())))
        }
    }
}

/// A source given on the command line (`--source`, `DQ_SOURCES`, the config file's `sources`):
/// `URL[;token=TOKEN][;header=Name: value]...`. What is not given falls back to `--token` and
/// `--header`. Errors name the source by its masked URL and never repeat a token.
pub fn parse_source(text: &str) -> Result<SourceConfig, String> {
    let mut parts = text.split(';');
    let url = parts.next().unwrap_or("").trim().to_string();
    if url.is_empty() {
        return Err("a source is empty (expected URL[;token=TOKEN][;header=Name: value])".into());
    }
    let masked = mask_url(&url);
    let mut config = SourceConfig {
        url,
        token: None,
        headers: Vec::new(),
    };
    for part in parts.map(str::trim).filter(|part| !part.is_empty()) {
        match part.split_once('=') {
            Some(("token", token)) if !token.trim().is_empty() => {
                config.token = Some(token.trim().to_string());
            }
            Some(("header", header)) => {
                let header = parse_header(header)
                    .map_err(|_| format!("source {masked}: a header= is not \"Name: value\""))?;
                config.headers.push(header);
            }
            _ => {
                return Err(format!(
                    "source {masked}: after the URL, only ;token=TOKEN and ;header=Name: value \
                     are allowed (and a token cannot be empty)"
                ))
            }
        }
    }
    Ok(config)
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
    fn at_loopback_is_localhost_and_loopback_addresses_only() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:3000/x",
            "http://[::1]:8080",
        ] {
            assert!(at_loopback(url), "{url}");
        }
        for url in [
            "http://127.example.com",
            "http://10.0.0.1",
            "https://consumer.example",
            "not a url",
        ] {
            assert!(!at_loopback(url), "{url}");
        }
    }

    #[test]
    fn a_source_at_an_address_is_not_looked_up_and_a_name_is() {
        let config = ureq::config::Config::default();
        let resolve = |url: &str| -> Vec<SocketAddr> {
            let uri: ureq::http::Uri = url.parse().unwrap();
            AddressFirst::default()
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap()
                .to_vec()
        };
        for (url, address) in [
            ("http://127.0.0.1:8080/discord", "127.0.0.1:8080"),
            ("https://10.0.0.1/discord", "10.0.0.1:443"),
            ("http://[::1]/discord", "[::1]:80"),
        ] {
            assert_eq!(
                resolve(url),
                [address.parse::<SocketAddr>().unwrap()],
                "{url}"
            );
        }
        // A name is resolved by ureq (localhost needs no network).
        assert!(resolve("http://localhost:8080/")
            .iter()
            .all(|address| address.ip().is_loopback() && address.port() == 8080));
    }

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
    fn announced_urls_are_checked_and_kept_in_one_form() {
        let ok = |url: &str| normalize_source_url(url, false).unwrap();
        assert_eq!(ok("https://Host.Example:443/"), "https://host.example");
        assert_eq!(ok(" https://h:8443/discord/ "), "https://h:8443");
        assert_eq!(ok("https://h/prefix"), "https://h/prefix");
        assert_eq!(
            ok("https://[2001:db8::1]:8080"),
            "https://[2001:db8::1]:8080"
        );
        assert_eq!(ok("https://93.184.216.34"), "https://93.184.216.34");
        assert_eq!(
            normalize_source_url("https://[::1]:8080", true).unwrap(),
            "https://[::1]:8080"
        );
        assert_eq!(
            normalize_source_url("http://127.0.0.1:80/", true).unwrap(),
            "http://127.0.0.1"
        );
        let long = format!("https://h/{}", "a".repeat(MAX_URL_BYTES));
        for bad in [
            "",
            "http://127.0.0.1:8080",
            "ftp://h/",
            "h/x",
            "//h/x",
            "https:///x",
            "https://user:s3cret@h/",
            "https://h/?token=s3cret",
            "https://h/#s3cret",
            "https://h:99999/",
            "https://h:0/",
            "https://h/a b",
            "https://127.0.0.1:8443",
            "https://[::1]",
            "https://10.1.2.3",
            "https://169.254.169.254/latest",
            "https://192.168.0.1",
            "https://100.100.100.100",
            "https://[fd00::1]",
            "https://[::ffff:127.0.0.1]",
            long.as_str(),
        ] {
            let error = normalize_source_url(bad, false).unwrap_err();
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn static_sources_may_carry_their_own_token_and_headers() {
        let source = parse_source("https://h:8080;token=abc;header=X-Github-Token: g:h").unwrap();
        assert_eq!(source.url, "https://h:8080");
        assert_eq!(source.token.as_deref(), Some("abc"));
        assert_eq!(
            source.headers,
            vec![("X-Github-Token".to_string(), "g:h".to_string())]
        );
        let plain = parse_source("https://h").unwrap();
        assert_eq!((plain.token, plain.headers.len()), (None, 0));
        for bad in [
            "https://h;s3cret",
            "https://h;token=",
            "https://h;tok=s3cret",
            "https://h;header=s3cret",
            ";token=s3cret",
        ] {
            let error = parse_source(bad).unwrap_err();
            assert!(!error.contains("s3cret"), "{error}");
        }
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
