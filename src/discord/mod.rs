//! Sending to Discord: `sink` delivers messages by channel webhook or bot direct message,
//! `rate_limits` keeps requests within Discord's buckets, `http` makes one request and
//! `outcome` classifies the answer as the typed `Outcome` the consumer branches on. What a
//! message says is `render`'s business; nothing here touches the store or the sources.

mod http;
mod outcome;
mod rate_limits;
mod sink;

pub use http::{agent, send};
pub use outcome::{classify, Answer, Outcome, RateLimitHeaders};
pub use rate_limits::RateLimits;
pub use sink::{webhook_url, Delivery, RetryPlan, Sink, Target};

/// The base of bot requests when `--discord-api` is not given.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";
