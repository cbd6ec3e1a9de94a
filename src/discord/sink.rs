//! Where messages go (a channel webhook or a bot's direct messages) and the one `Sink` that
//! sends them: rate limits waited out, retryable failures retried in place, and a growing
//! pause while the sink keeps failing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::http::{agent, send};
use super::outcome::{Answer, Outcome, RateLimitHeaders};
use super::rate_limits::RateLimits;
use super::DEFAULT_API_BASE;

/// Where messages go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A channel webhook; the URL already ends in `?wait=true`.
    Webhook { url: String },
    /// Direct messages from a bot, to each event's `user_id`.
    Bot { token: String, api: String },
}

/// Turns a webhook URL as users paste it into the URL dq posts to: `discordapp.com` becomes
/// `discord.com`, `/api/webhooks/` gains `/v10`, and `wait=true` is always asked for. With an
/// `api` base other than Discord's, the webhook's id and token are posted there instead.
pub fn webhook_url(pasted: &str, api: &str) -> Result<String> {
    let pasted = pasted.trim();
    let (without_query, query) = pasted.split_once('?').unwrap_or((pasted, ""));
    let Some((_, rest)) = without_query.split_once("/webhooks/") else {
        bail!("the webhook URL has no /webhooks/ID/TOKEN part");
    };
    let mut parts = rest.trim_end_matches('/').split('/');
    let (Some(id), Some(token)) = (parts.next(), parts.next()) else {
        bail!("the webhook URL has no /webhooks/ID/TOKEN part");
    };
    if id.is_empty() || token.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
        bail!("the webhook URL has no /webhooks/ID/TOKEN part");
    }
    if !(pasted.starts_with("https://") || pasted.starts_with("http://")) {
        bail!("the webhook URL must start with https://");
    }
    let base = if api.trim_end_matches('/') != DEFAULT_API_BASE {
        format!("{}/webhooks/{id}/{token}", api.trim_end_matches('/'))
    } else {
        without_query
            .trim_end_matches('/')
            .replacen("://discordapp.com/", "://discord.com/", 1)
            .replacen("://www.discordapp.com/", "://discord.com/", 1)
            .replacen("/api/webhooks/", "/api/v10/webhooks/", 1)
    };
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|param| !param.is_empty() && !param.starts_with("wait="))
        .collect();
    params.push("wait=true");
    Ok(format!("{base}?{}", params.join("&")))
}

/// The retries in place of a message that met a 5xx, a timeout or a dropped connection.
#[derive(Debug, Clone)]
pub struct RetryPlan {
    /// Waits before each new try; when they run out the failure is reported.
    pub delays: Vec<Duration>,
    /// No retry starts after this (the marks must land within the events' lease).
    pub deadline: Instant,
    /// No send at all starts after this, nor a rate-limit wait that would end after it: once
    /// the lease is over another consumer may hold the events, and sending them would
    /// deliver them twice.
    pub lease_end: Instant,
}

impl RetryPlan {
    /// About 0.5, 1, 2, 4, 8 s.
    pub fn standard(deadline: Instant, lease_end: Instant) -> RetryPlan {
        RetryPlan {
            delays: [500, 1000, 2000, 4000, 8000]
                .into_iter()
                .map(Duration::from_millis)
                .collect(),
            deadline,
            lease_end,
        }
    }
}

/// What delivering one message took.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `RateLimited` only when stopped while waiting it out.
    pub outcome: Outcome,
    /// Tries after the first that met a retryable failure.
    pub retries: u32,
    /// 429 answers seen on the way.
    pub rate_limited: u32,
    /// Not sent, by a shutdown or because the lease would end first: nothing should be marked.
    pub interrupted: bool,
}

/// The one place that sends to Discord: callers share it behind a lock, so no two requests
/// for one bucket are ever in flight at once.
pub struct Sink {
    agent: ureq::Agent,
    target: Target,
    limits: RateLimits,
    dm_channels: HashMap<String, String>,
    stop: Arc<AtomicBool>,
    /// Consecutive messages that failed; drives `pause_until`.
    failing: u32,
    paused_until: Option<Instant>,
}

impl Sink {
    pub fn new(target: Target, timeout: Duration, stop: Arc<AtomicBool>) -> Sink {
        Sink {
            agent: agent(timeout),
            target,
            limits: RateLimits::default(),
            dm_channels: HashMap::new(),
            stop,
            failing: 0,
            paused_until: None,
        }
    }

    /// Whether messages go to each user's DMs (so events group by user).
    pub fn by_user(&self) -> bool {
        matches!(self.target, Target::Bot { .. })
    }

    /// While the sink keeps failing, sources stop claiming for it until this time.
    pub fn paused_until(&self) -> Option<Instant> {
        self.paused_until.filter(|until| *until > Instant::now())
    }

    /// Sends one message carrying `events`, waiting out rate limits (no attempt) and retrying
    /// retryable failures in place per `plan`.
    pub fn deliver(
        &mut self,
        body: &Value,
        user_id: &str,
        nonce: &str,
        plan: &RetryPlan,
    ) -> Delivery {
        let mut delivery = Delivery {
            outcome: Outcome::Retryable {
                reason: "not sent".into(),
            },
            retries: 0,
            rate_limited: 0,
            interrupted: false,
        };
        let mut delays = plan.delays.iter();
        loop {
            let stopping =
                self.stop.load(Ordering::Relaxed) && delivery.retries + delivery.rate_limited > 0;
            if stopping || Instant::now() >= plan.lease_end {
                delivery.interrupted = true;
                return delivery;
            }
            let answer = match self.request(body, user_id, nonce) {
                Ok(answer) => answer,
                Err(interrupted) => {
                    delivery.outcome = interrupted;
                    delivery.interrupted = true;
                    return delivery;
                }
            };
            match &answer.outcome {
                Outcome::RateLimited { retry_after, .. } => {
                    delivery.rate_limited += 1;
                    if Instant::now() + *retry_after >= plan.lease_end {
                        delivery.outcome = answer.outcome;
                        delivery.interrupted = true;
                        return delivery;
                    }
                    // The limits now say how long to wait; the next request waits it out.
                    continue;
                }
                Outcome::Retryable { .. } => {
                    let next = delays.next();
                    match next {
                        Some(delay) if Instant::now() + *delay < plan.deadline => {
                            delivery.retries += 1;
                            if !self.sleep(*delay) {
                                delivery.outcome = answer.outcome;
                                delivery.interrupted = true;
                                return delivery;
                            }
                            continue;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            self.record(&answer.outcome);
            delivery.outcome = answer.outcome;
            return delivery;
        }
    }

    fn record(&mut self, outcome: &Outcome) {
        let sink_failure = match outcome {
            Outcome::Delivered { .. } => false,
            Outcome::Retryable { .. } => true,
            // A webhook that is gone or a token that is wrong fails every message alike:
            // Discord restricts clients that keep using them.
            Outcome::Permanent { status, .. } => {
                *status == 401 || (*status == 404 && matches!(self.target, Target::Webhook { .. }))
            }
            Outcome::RateLimited { .. } => false,
        };
        if !sink_failure {
            self.failing = 0;
            self.paused_until = None;
            return;
        }
        self.failing = self.failing.saturating_add(1);
        let pause = match outcome {
            // 10 minutes, doubling up to 6 hours: a fixed URL or token needs a restart anyway.
            Outcome::Permanent { .. } => Duration::from_secs(600)
                .saturating_mul(1 << self.failing.saturating_sub(1).min(5))
                .min(Duration::from_secs(6 * 3600)),
            _ => Duration::from_secs(1u64 << self.failing.min(8)).min(Duration::from_secs(300)),
        };
        self.paused_until = Some(Instant::now() + pause);
    }

    /// Sleeps in small steps; false when a shutdown was asked for meanwhile.
    fn sleep(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    /// One request for the message, after the rate limits allow it. `Err` is a shutdown that
    /// came while waiting.
    fn request(&mut self, body: &Value, user_id: &str, nonce: &str) -> Result<Answer, Outcome> {
        match self.target.clone() {
            Target::Webhook { url } => {
                let route = "webhook";
                self.call(route, &url, None, body)
            }
            Target::Bot { token, api } => {
                let authorization = format!("Bot {token}");
                let channel = match self.dm_channels.get(user_id) {
                    Some(channel) => channel.clone(),
                    None => {
                        if user_id.trim().is_empty() {
                            return Ok(Answer {
                                outcome: Outcome::Permanent {
                                    status: 400,
                                    code: None,
                                    message: "the event has no user_id to send a direct message to"
                                        .into(),
                                },
                                headers: RateLimitHeaders::default(),
                                body: Value::Null,
                            });
                        }
                        let answer = self.call(
                            "POST /users/@me/channels",
                            &format!("{api}/users/@me/channels"),
                            Some(&authorization),
                            &json!({ "recipient_id": user_id }),
                        )?;
                        let id = answer.body.get("id").and_then(Value::as_str);
                        match (&answer.outcome, id) {
                            (Outcome::Delivered { .. }, Some(id)) => {
                                self.dm_channels.insert(user_id.into(), id.into());
                                id.to_string()
                            }
                            (Outcome::Delivered { .. }, None) => {
                                return Ok(Answer {
                                    outcome: Outcome::Retryable {
                                        reason: "discord created the DM channel but sent no id"
                                            .into(),
                                    },
                                    ..answer
                                })
                            }
                            _ => return Ok(answer),
                        }
                    }
                };
                let mut message = body.clone();
                if let Value::Object(map) = &mut message {
                    map.insert("nonce".into(), json!(nonce));
                    map.insert("enforce_nonce".into(), json!(true));
                }
                let answer = self.call(
                    &format!("POST /channels/{channel}/messages"),
                    &format!("{api}/channels/{channel}/messages"),
                    Some(&authorization),
                    &message,
                )?;
                if matches!(answer.outcome, Outcome::Permanent { status: 404, .. }) {
                    // The DM channel is gone: create it again next time.
                    self.dm_channels.remove(user_id);
                }
                Ok(answer)
            }
        }
    }

    fn call(
        &mut self,
        route: &str,
        url: &str,
        authorization: Option<&str>,
        body: &Value,
    ) -> Result<Answer, Outcome> {
        loop {
            let wait = self.limits.wait_before(route, Instant::now());
            if wait.is_zero() {
                break;
            }
            if !self.sleep(wait) {
                return Err(Outcome::RateLimited {
                    retry_after: wait,
                    global: false,
                });
            }
        }
        let answer = send(&self.agent, url, authorization, body);
        self.limits.update(route, &answer, Instant::now());
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_webhook_urls_are_normalized() {
        let api = DEFAULT_API_BASE;
        assert_eq!(
            webhook_url("https://discordapp.com/api/webhooks/1/tok", api).unwrap(),
            "https://discord.com/api/v10/webhooks/1/tok?wait=true"
        );
        assert_eq!(
            webhook_url(
                "https://discord.com/api/v10/webhooks/1/tok?wait=false&thread_id=9",
                api
            )
            .unwrap(),
            "https://discord.com/api/v10/webhooks/1/tok?thread_id=9&wait=true"
        );
        assert_eq!(
            webhook_url(
                "https://discord.com/api/webhooks/1/tok",
                "http://127.0.0.1:9/api/v10/"
            )
            .unwrap(),
            "http://127.0.0.1:9/api/v10/webhooks/1/tok?wait=true"
        );
        assert!(webhook_url("https://discord.com/api/webhooks/", api).is_err());
        assert!(webhook_url("discord.com/api/webhooks/1/x", api).is_err());
    }
}
