//! How the publisher wants an event to look, beyond what its type gives: the `title`, `body`,
//! `level`, `color` and `url` keys next to `event_type` and `payload`, and what each may hold.
//!
//! They stay out of the payload, which remains the data the original tools read, and are
//! stored in a column of their own. The values are kept as text, as given: `validate` checks
//! them where an event enters dq (the command line, a batch line, `POST /discord/events`),
//! while the getters read them leniently, so an odd value in a row or from a source is left
//! out of the message rather than stopping its delivery.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A serialized presentation larger than this is refused (the payload has its own 64 KiB).
pub const MAX_PRESENTATION_BYTES: usize = 16 * 1024;
/// Longer links are refused: Discord takes at most 2,048 characters for an embed's `url`.
pub const MAX_URL_CHARS: usize = 2048;

/// The presentation keys of an event; `None` where the publisher said nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentation {
    /// The embed's title, in place of the type's.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub title: Option<String>,
    /// The embed's description (Markdown as Discord renders it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub body: Option<String>,
    /// `info`, `success`, `warning` or `error`: an emoji before the title and a colour.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub level: Option<String>,
    /// A colour name or `#RRGGBB`; wins over the level's colour.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub color: Option<String>,
    /// Where the title links to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub url: Option<String>,
}

/// Read leniently: anything but a non-blank string is absent.
fn text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(text)) => non_blank(Some(text)),
        _ => None,
    })
}

/// `None` for a missing, empty or all-blank text: a script passing `--title "$EMPTY"` means
/// no title, not an empty one.
fn non_blank(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

impl Presentation {
    /// The same, with every blank text taken as absent.
    pub fn normalized(self) -> Presentation {
        Presentation {
            title: non_blank(self.title),
            body: non_blank(self.body),
            level: non_blank(self.level),
            color: non_blank(self.color),
            url: non_blank(self.url),
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &Presentation::default()
    }

    /// Each key this one leaves unset, taken from `defaults` (a batch's flags under its lines).
    pub fn or(self, defaults: &Presentation) -> Presentation {
        Presentation {
            title: self.title.or_else(|| defaults.title.clone()),
            body: self.body.or_else(|| defaults.body.clone()),
            level: self.level.or_else(|| defaults.level.clone()),
            color: self.color.or_else(|| defaults.color.clone()),
            url: self.url.or_else(|| defaults.url.clone()),
        }
    }

    /// Checks every key, as an event enters dq.
    pub fn validate(&self) -> Result<()> {
        if let Some(level) = &self.level {
            Level::parse(level).map_err(anyhow::Error::msg)?;
        }
        if let Some(color) = &self.color {
            parse_color(color).map_err(anyhow::Error::msg)?;
        }
        if let Some(url) = &self.url {
            validate_url(url).map_err(anyhow::Error::msg)?;
        }
        self.to_json().map(|_| ())
    }

    /// The text stored in the `presentation` column: compact JSON, or `None` when empty.
    pub fn to_json(&self) -> Result<Option<String>> {
        if self.is_empty() {
            return Ok(None);
        }
        let text = serde_json::to_string(self).context("serializing the presentation")?;
        if text.len() > MAX_PRESENTATION_BYTES {
            bail!(
                "title, body, level, color and url take {} bytes; the limit is \
                 {MAX_PRESENTATION_BYTES} bytes (16 KiB)",
                text.len()
            );
        }
        Ok(Some(text))
    }

    /// The `presentation` column as stored; anything unreadable is no presentation.
    pub fn from_json(text: Option<&str>) -> Presentation {
        text.and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    /// The level, if it is one.
    pub fn level(&self) -> Option<Level> {
        self.level
            .as_deref()
            .and_then(|text| Level::parse(text).ok())
    }

    /// The colour as Discord takes it, if it names one.
    pub fn color(&self) -> Option<u32> {
        self.color
            .as_deref()
            .and_then(|text| parse_color(text).ok())
    }

    /// The link, if it is one Discord accepts.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref().filter(|url| validate_url(url).is_ok())
    }
}

/// How much a notification matters: `--level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Warning,
    Error,
}

impl Level {
    pub const NAMES: [&'static str; 4] = ["info", "success", "warning", "error"];

    pub fn parse(text: &str) -> Result<Level, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "info" => Ok(Level::Info),
            "success" => Ok(Level::Success),
            "warning" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            _ => Err(format!(
                "level {text:?} is not one of {}",
                Level::NAMES.join(", ")
            )),
        }
    }

    /// Put before the title.
    pub fn emoji(self) -> &'static str {
        match self {
            Level::Info => "ℹ️",
            Level::Success => "✅",
            Level::Warning => "⚠️",
            Level::Error => "❌",
        }
    }

    pub fn color(self) -> u32 {
        match self {
            Level::Info => BLUE,
            Level::Success => GREEN,
            Level::Warning => ORANGE,
            Level::Error => RED,
        }
    }
}

/// The original system's red and green: `--color red` matches a backup error.
pub const RED: u32 = 0xFF0000;
pub const GREEN: u32 = 0x00FF00;
pub const ORANGE: u32 = 0xFF8C00;
pub const BLUE: u32 = 0x1E90FF;

/// The colour names `--color` takes, and their values.
pub const COLORS: [(&str, u32); 8] = [
    ("red", RED),
    ("orange", ORANGE),
    ("yellow", 0xFFD700),
    ("green", GREEN),
    ("blue", BLUE),
    ("purple", 0x9B59B6),
    ("grey", 0x95A5A6),
    ("gray", 0x95A5A6),
];

/// A colour name of [`COLORS`] or `#RRGGBB`, as the number Discord takes.
pub fn parse_color(text: &str) -> Result<u32, String> {
    let trimmed = text.trim();
    if let Some(hex) = trimmed.strip_prefix('#') {
        if hex.len() == 6 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return u32::from_str_radix(hex, 16).map_err(|error| error.to_string());
        }
    } else if let Some((_, value)) = COLORS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(trimmed))
    {
        return Ok(*value);
    }
    Err(format!(
        "color {text:?} is not #RRGGBB nor one of red, orange, yellow, green, blue, purple, grey"
    ))
}

/// A link Discord accepts for an embed: `http://` or `https://`, a host, no spaces or control
/// characters, at most 2,048 characters. Discord answers anything else with 50035 and would
/// refuse the whole message.
pub fn validate_url(text: &str) -> Result<(), String> {
    let shown: String = text.chars().take(80).collect();
    let fail = |why: &str| Err(format!("url {shown:?} {why}"));
    if text.chars().count() > MAX_URL_CHARS {
        return fail("is longer than 2048 characters");
    }
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &text[8..]
    } else if lower.starts_with("http://") {
        &text[7..]
    } else {
        return fail("must start with https:// or http://");
    };
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\\'))
    {
        return fail("must not contain spaces, quotes, <, >, \\ or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_and_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_and_port.strip_prefix('[') {
        // An IPv6 literal: [::1]:8080.
        Some(inner) => match inner.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return fail("has an unclosed [ in its host"),
        },
        None => match host_and_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_and_port, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
    if !host_ok {
        return fail("has no valid host");
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|byte| byte.is_ascii_digit()) {
            return fail("has an invalid port");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_and_colours_parse_by_name_and_colours_by_hex() {
        assert_eq!(Level::parse("warning"), Ok(Level::Warning));
        assert_eq!(Level::parse("Error"), Ok(Level::Error));
        assert!(Level::parse("urgent").is_err());
        assert_eq!(parse_color("orange"), Ok(0xFF8C00));
        assert_eq!(parse_color("#5865f2"), Ok(0x5865F2));
        assert_eq!(parse_color("GREY"), parse_color("gray"));
        for bad in ["", "#12345", "#1234567", "#GGGGGG", "pink", "16711680"] {
            assert!(parse_color(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn only_links_discord_accepts_are_valid() {
        for good in [
            "https://example.com",
            "http://example.com:8080/a/b?c=d#e",
            "https://user@host.example/x",
            "https://[::1]:8080/",
            "https://bücher.example/ñ",
        ] {
            assert_eq!(validate_url(good), Ok(()), "{good}");
        }
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://example.com/a b",
            "https://example.com:port",
            "https://example.com:123456",
            "javascript:alert(1)",
            "https://<script>",
        ] {
            assert!(validate_url(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_url(&format!("https://e.com/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn blank_and_odd_values_read_as_absent() {
        let read: Presentation = serde_json::from_value(json!({
            "title": "  ", "body": 5, "level": null, "color": ["red"], "url": "https://e.com"
        }))
        .unwrap();
        assert_eq!(
            read,
            Presentation {
                url: Some("https://e.com".into()),
                ..Presentation::default()
            }
        );
        assert_eq!(
            Presentation::from_json(Some("not json")),
            Presentation::default()
        );
        assert_eq!(Presentation::default().to_json().unwrap(), None);
    }

    #[test]
    fn a_presentation_over_16_kib_is_refused() {
        let big = Presentation {
            body: Some("x".repeat(MAX_PRESENTATION_BYTES)),
            ..Presentation::default()
        };
        assert!(big.validate().is_err());
        let bad_level = Presentation {
            level: Some("loud".into()),
            ..Presentation::default()
        };
        assert!(bad_level.validate().is_err());
    }
}
