//! One consumer this serve announces itself to: when to announce ([`Schedule`]: the heartbeat,
//! retries with backoff, wakes), the `POST URL/sources` itself and what its answer means
//! ([`Outcome`]), and the one log line each change of state deserves.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Bell, Log};
use crate::api::{self, Announced};
use crate::cli::format_duration;
use crate::client::MAX_URL_BYTES;
use crate::secret::mask_url;

/// A consumer that is starting (a platform waking it) can take a minute to answer.
const TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Retries after a failure wait 1, 2, 4, ... seconds, up to this (and never beyond the
/// heartbeat).
const LAST_RETRY: Duration = Duration::from_secs(30);
/// A wake this soon after an announcement the consumer accepted adds nothing: it has just
/// started claiming, or will at once.
const WAKE_AFTER_ANNOUNCED: Duration = Duration::from_secs(5);
/// Answers larger than this are not a consumer's.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Checks a consumer's base URL (`--announce`) and gives the one form announcements go to:
/// `http(s)://host[:port][/path]` without a trailing `/` (nor a pasted `/sources`), no user
/// name or password, query or fragment (it is shown in logs whole).
pub fn consumer_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.len() > MAX_URL_BYTES {
        return Err(format!("is longer than {MAX_URL_BYTES} bytes"));
    }
    if url.contains(['?', '#']) {
        return Err("cannot have a query or fragment (?, #)".into());
    }
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|_| "is not a URL such as https://dq-consumer.onrender.com".to_string())?;
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https" | "http") => {}
        Some(_) => return Err("must start with https:// (or http://)".into()),
        None => return Err("needs https:// (such as https://dq-consumer.onrender.com)".into()),
    }
    let authority = uri.authority().map_or("", |authority| authority.as_str());
    if authority.contains('@') {
        return Err("cannot carry a user name or password; the key is --announce-key".into());
    }
    if uri
        .host()
        .is_none_or(|host| host.is_empty() || host == "[]")
    {
        return Err("has no host".into());
    }
    let base = url.trim_end_matches('/');
    let base = base.strip_suffix(api::SOURCES).unwrap_or(base);
    Ok(base.trim_end_matches('/').to_string())
}

/// The agent every consumer's thread shares.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A redirect (http:// to https://, a login page) is reported, not followed: a POST
        // followed by a GET would announce nothing.
        .max_redirects(0)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TIMEOUT))
        // One request every few minutes needs no connection kept open, and a kept one holds a
        // thread of the consumer's listener for nothing (bench/announce.sh with BY=serve: 50
        // serves kept 47 of its threads busy).
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .user_agent(format!("dq/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

pub struct Consumer {
    /// The base URL, from [`consumer_url`].
    pub url: String,
    pub key: String,
    /// The announcement, encoded once.
    pub body: Arc<Vec<u8>>,
    /// This serve's public URL, for the first log line.
    pub public_url: String,
    pub agent: ureq::Agent,
}

impl Consumer {
    /// Announces at start, then as the schedule and the wake rule's rings say, forever.
    pub fn run(&self, every: Duration, bell: &Bell, log: &Log) {
        let mut schedule = Schedule::new(every, Instant::now());
        let mut rings = bell.rings();
        loop {
            while Instant::now() < schedule.next {
                let rung = bell.wait(rings, schedule.next);
                if rung != rings {
                    rings = rung;
                    if schedule.takes_wake(Instant::now()) {
                        break;
                    }
                }
            }
            let outcome = self.announce();
            // Rings that came while it was on its way are answered by it.
            rings = bell.rings();
            if let Some(line) = schedule.record(&outcome, Instant::now(), self) {
                log(&line);
            }
        }
    }

    /// One `POST URL/sources`.
    fn announce(&self) -> Outcome {
        let url = format!("{}{}", self.url, api::SOURCES);
        let result = self
            .agent
            .post(&url)
            .header("Authorization", format!("Bearer {}", self.key))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(&self.body[..]);
        let mut response = match result {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(unreachable(&error)),
        };
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(mask_url);
        let mut text = String::new();
        if let Err(error) = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .reader()
            .read_to_string(&mut text)
        {
            return Outcome::Failed(format!("reading its answer: {error}"));
        }
        outcome(status, location.as_deref(), &text)
    }
}

/// What one announcement came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx with the consumer's answer: `registered` (it did not know this serve) or
    /// `refreshed`.
    Announced { status: String },
    /// An answer that trying again soon will not change (401, another 4xx, a redirect, not a
    /// consumer at all): a configuration error, tried again at the heartbeat.
    Refused(String),
    /// No answer, or a 5xx: tried again with backoff.
    Failed(String),
}

/// Classifies an answer (status, `Location` masked, body).
pub fn outcome(status: u16, location: Option<&str>, body: &str) -> Outcome {
    let said = || {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|value| value.get("error")?.as_str().map(str::to_string))
            .unwrap_or_else(|| {
                let text: String = body.chars().take(200).collect();
                text.trim().to_string()
            })
    };
    match status {
        200..=299 => match serde_json::from_str::<Announced>(body) {
            Ok(announced) if announced.success => Outcome::Announced {
                status: announced.status,
            },
            _ => Outcome::Refused(format!(
                "HTTP {status} but not the answer of dq consume (is this the consumer's URL?)"
            )),
        },
        300..=399 => Outcome::Refused(format!(
            "HTTP {status}, redirected to {} (announce to that URL instead)",
            location.unwrap_or("nowhere")
        )),
        401 => Outcome::Refused(
            "the announce key was refused (401): set --announce-key (DQ_ANNOUNCE_KEY) to the \
             consumer's --announce-key"
                .into(),
        ),
        404 | 405 => Outcome::Refused(format!(
            "HTTP {status}: it takes no announcements (is it dq consume with --announce-key?)"
        )),
        400..=499 => Outcome::Refused(format!("HTTP {status}: {}", said())),
        _ => Outcome::Failed(format!("HTTP {status}: {}", said())),
    }
}

/// Why a request got no answer, in words (never the key: ureq's errors do not carry headers).
fn unreachable(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => format!(
            "it did not answer within {} s (still starting? overloaded?)",
            TIMEOUT.as_secs()
        ),
        ureq::Error::HostNotFound => "its host name does not resolve".into(),
        ureq::Error::ConnectionFailed => "nothing answers there".into(),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            format!("nothing answers there ({io})")
        }
        other => other.to_string(),
    }
}

/// Where a consumer stands, as far as its last answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Nothing tried yet.
    Starting,
    Announced,
    /// Refused, and why.
    Refused(String),
    /// No answer (or a 5xx) since this many tries.
    Failing(u32),
}

/// When to announce next, and what to say about an outcome.
#[derive(Debug)]
pub struct Schedule {
    every: Duration,
    /// The next announcement, unless a ring comes first.
    pub next: Instant,
    state: State,
    last_announced: Option<Instant>,
}

impl Schedule {
    /// The first announcement is due at once.
    pub fn new(every: Duration, now: Instant) -> Schedule {
        Schedule {
            every,
            next: now,
            state: State::Starting,
            last_announced: None,
        }
    }

    /// Whether a ring (events due and unclaimed) is worth an announcement now. Not to a consumer
    /// that refused the last one (it would refuse this one too: the heartbeat tries again),
    /// nor right after one it accepted.
    pub fn takes_wake(&self, now: Instant) -> bool {
        !matches!(self.state, State::Refused(_))
            && self
                .last_announced
                .is_none_or(|at| now.saturating_duration_since(at) >= WAKE_AFTER_ANNOUNCED)
    }

    /// Schedules the next announcement after `outcome`, and gives the log line it deserves:
    /// one per change of state, none while it stays the same.
    pub fn record(
        &mut self,
        outcome: &Outcome,
        now: Instant,
        consumer: &Consumer,
    ) -> Option<String> {
        let name = &consumer.url;
        let (state, line) = match outcome {
            Outcome::Announced { status } => {
                self.last_announced = Some(now);
                self.next = now + self.every;
                let line = match &self.state {
                    State::Starting => Some(format!(
                        "dq serve: announced to {name} as {} ({status})",
                        consumer.public_url
                    )),
                    State::Failing(_) => Some(format!(
                        "dq serve: {name} answers again; announced ({status})"
                    )),
                    State::Refused(_) => Some(format!(
                        "dq serve: {name} accepts the announcement now ({status})"
                    )),
                    State::Announced if status == "registered" => Some(format!(
                        "dq serve: {name} did not know this serve any more (it restarted?); \
                         announced again"
                    )),
                    State::Announced => None,
                };
                (State::Announced, line)
            }
            Outcome::Refused(why) => {
                self.next = now + self.every;
                let line = (self.state != State::Refused(why.clone())).then(|| {
                    format!(
                        "dq serve: {name} refused the announcement: {why}; trying again every {}",
                        format_duration(self.every)
                    )
                });
                (State::Refused(why.clone()), line)
            }
            Outcome::Failed(why) => {
                let tries = match self.state {
                    State::Failing(tries) => tries.saturating_add(1),
                    _ => 1,
                };
                self.next = now + retry_after(tries, self.every);
                let line = (tries == 1).then(|| {
                    format!("dq serve: cannot announce to {name}: {why}; trying again with backoff")
                });
                (State::Failing(tries), line)
            }
        };
        self.state = state;
        line
    }
}

/// The wait before the next try after `tries` failed ones: 1, 2, 4, ... s, at most
/// `LAST_RETRY` and at most the heartbeat.
fn retry_after(tries: u32, every: Duration) -> Duration {
    super::doubling(Duration::from_secs(1), tries, LAST_RETRY).min(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer() -> Consumer {
        Consumer {
            url: "https://consumer.example".into(),
            key: "the-key".into(),
            body: Arc::new(Vec::new()),
            public_url: "https://serve.example".into(),
            agent: agent(),
        }
    }

    fn announced(status: &str) -> Outcome {
        Outcome::Announced {
            status: status.into(),
        }
    }

    #[test]
    fn consumer_urls_are_checked_and_given_one_form() {
        for (given, kept) in [
            ("https://c.example", "https://c.example"),
            ("https://c.example/", "https://c.example"),
            ("https://c.example/sources", "https://c.example"),
            ("https://c.example/dq/sources/", "https://c.example/dq"),
            (" http://127.0.0.1:9000 ", "http://127.0.0.1:9000"),
        ] {
            assert_eq!(consumer_url(given).as_deref(), Ok(kept), "{given}");
        }
        for bad in [
            "",
            "c.example",
            "ftp://c.example",
            "https://user:pass@c.example",
            "https://c.example/?key=1",
            "https://c.example/#x",
            "https://",
        ] {
            assert!(consumer_url(bad).is_err(), "{bad:?}");
        }
        assert!(consumer_url(&format!("https://c.example/{}", "a".repeat(3000))).is_err());
    }

    #[test]
    fn answers_are_classified_by_what_trying_again_would_change() {
        let ok = r#"{"success":true,"status":"registered","url":"u","name":"n"}"#;
        assert_eq!(outcome(200, None, ok), announced("registered"));
        assert!(matches!(outcome(200, None, "<html>"), Outcome::Refused(_)));
        let refused = outcome(401, None, r#"{"success":false,"error":"wrong key"}"#);
        assert!(
            matches!(&refused, Outcome::Refused(why) if why.contains("--announce-key")),
            "{refused:?}"
        );
        let bad = outcome(
            400,
            None,
            r#"{"success":false,"error":"needs --allow-http-sources"}"#,
        );
        assert_eq!(
            bad,
            Outcome::Refused("HTTP 400: needs --allow-http-sources".into())
        );
        assert!(
            matches!(outcome(404, None, ""), Outcome::Refused(why) if why.contains("--announce-key"))
        );
        assert!(
            matches!(outcome(308, Some("https://c.example/…"), ""), Outcome::Refused(why) if why.contains("https://c.example/…"))
        );
        assert_eq!(
            outcome(503, None, r#"{"success":false,"error":"registry full"}"#),
            Outcome::Failed("HTTP 503: registry full".into())
        );
        assert!(matches!(
            outcome(502, None, "Bad Gateway"),
            Outcome::Failed(_)
        ));
    }

    #[test]
    fn each_change_of_state_is_said_once() {
        let consumer = consumer();
        let start = Instant::now();
        let every = Duration::from_secs(300);
        let mut schedule = Schedule::new(every, start);
        assert_eq!(schedule.next, start);
        let said = schedule.record(&announced("registered"), start, &consumer);
        assert_eq!(
            said.as_deref(),
            Some("dq serve: announced to https://consumer.example as https://serve.example (registered)")
        );
        assert_eq!(schedule.next, start + every);
        assert_eq!(
            schedule.record(&announced("refreshed"), start, &consumer),
            None
        );

        let down = Outcome::Failed("nothing answers there".into());
        let first = schedule.record(&down, start, &consumer).unwrap();
        assert!(
            first.contains("cannot announce to https://consumer.example: nothing answers there"),
            "{first}"
        );
        for _ in 0..10 {
            assert_eq!(schedule.record(&down, start, &consumer), None);
        }
        let back = schedule
            .record(&announced("refreshed"), start, &consumer)
            .unwrap();
        assert!(back.contains("answers again"), "{back}");

        let refused = Outcome::Refused("the announce key was refused (401)".into());
        let line = schedule.record(&refused, start, &consumer).unwrap();
        assert!(line.contains("refused the announcement: the announce key was refused (401); trying again every 5m"), "{line}");
        assert_eq!(schedule.record(&refused, start, &consumer), None);
        assert_eq!(
            schedule.next,
            start + every,
            "a refusal waits for the heartbeat"
        );
        let other = Outcome::Refused("HTTP 400: bad url".into());
        assert!(
            schedule.record(&other, start, &consumer).is_some(),
            "another refusal is a change"
        );

        assert!(schedule
            .record(&announced("refreshed"), start, &consumer)
            .is_some());
        let restarted = schedule
            .record(&announced("registered"), start, &consumer)
            .unwrap();
        assert!(restarted.contains("restarted"), "{restarted}");
    }

    #[test]
    fn failures_are_retried_with_backoff_up_to_half_a_minute_and_never_beyond_the_heartbeat() {
        let waits: Vec<u64> = (1..=8)
            .map(|tries| retry_after(tries, Duration::from_secs(300)).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(
            retry_after(10, Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert_eq!(retry_after(u32::MAX, Duration::from_secs(300)), LAST_RETRY);
    }

    #[test]
    fn a_wake_is_not_sent_to_a_consumer_that_refused_nor_right_after_an_announcement() {
        let consumer = consumer();
        let start = Instant::now();
        let mut schedule = Schedule::new(Duration::from_secs(300), start);
        assert!(schedule.takes_wake(start));
        schedule.record(&announced("registered"), start, &consumer);
        assert!(!schedule.takes_wake(start + Duration::from_secs(1)));
        assert!(schedule.takes_wake(start + WAKE_AFTER_ANNOUNCED));
        schedule.record(
            &Outcome::Failed("down".into()),
            start + WAKE_AFTER_ANNOUNCED,
            &consumer,
        );
        assert!(schedule.takes_wake(start + WAKE_AFTER_ANNOUNCED));
        schedule.record(&Outcome::Refused("401".into()), start, &consumer);
        assert!(!schedule.takes_wake(start + Duration::from_secs(100)));
    }
}
