//! Domain types: an event as stored and as carried over HTTP, a new event before it is stored,
//! and the rules every event must satisfy (type names, payload size, timestamps). How the
//! publisher wants it shown lives in `presentation`. No I/O here.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Local, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod presentation;

pub use presentation::{
    parse_color, validate_url, Level, Presentation, COLORS, GREEN, MAX_PRESENTATION_BYTES, RED,
};

/// A serialized payload larger than this is refused, wherever it comes from.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The known event types, as stored in `event_type`.
pub const BACKUP_ERROR: &str = "backup_error";
pub const BACKUP_SUCCESS: &str = "backup_success";
pub const MINECRAFT_STATUS: &str = "minecraft_status";
pub const CODESPACE_STATUS: &str = "codespace_status";
/// `dq publish test`: the old "Probar notificación".
pub const TEST: &str = "test";
/// `dq publish message TEXT`: the text, as the description.
pub const MESSAGE: &str = "message";

/// One stored event, with exactly the keys the original API sends for it, so the original
/// bot and dq's own consumer read the same JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub user_id: String,
    pub event_type: String,
    /// An object; a source that sends the payload as a JSON string (or anything else) is
    /// read leniently rather than failing the whole claim.
    #[serde(deserialize_with = "lenient_payload")]
    pub payload: Map<String, Value>,
    pub created_at: String,
    #[serde(default)]
    pub attempts: i64,
    #[serde(default)]
    pub last_attempt: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    /// `title`, `body`, `level`, `color`, `url`, at the top level next to `payload`.
    #[serde(flatten)]
    pub presentation: Presentation,
}

impl Event {
    /// When the event was created, in UTC, whichever format wrote it (dq's RFC 3339 or the
    /// original's naive local time).
    pub fn created_utc(&self) -> Option<DateTime<Utc>> {
        parse_timestamp(&self.created_at)
    }
}

/// A payload as stored or sent by any system: a JSON object, or its text. Anything that is
/// not an object (hand-written rows, corruption) is kept whole under `raw`, so the event is
/// still delivered and nothing blocks the queue.
pub fn payload_from_text(text: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::from_iter([("raw".to_string(), Value::String(text.to_string()))]),
    }
}

fn lenient_payload<'de, D>(deserializer: D) -> Result<Map<String, Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Object(map) => map,
        Value::String(text) => payload_from_text(&text),
        Value::Null => Map::new(),
        other => Map::from_iter([("raw".to_string(), other)]),
    })
}

/// An event that has not been stored yet: what `dq publish`, a batch line and
/// `POST /discord/events` all produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "NewEventJson")]
pub struct NewEvent {
    pub event_type: String,
    pub payload: Map<String, Value>,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub dedup_key: Option<String>,
    #[serde(flatten)]
    pub presentation: Presentation,
}

/// A new event as JSON (a batch line, a `POST /discord/events` body): strict, so a misspelt
/// key or a title that is not text is an error rather than silently dropped. (serde cannot
/// deny unknown fields next to a flattened struct, hence this flat twin of [`NewEvent`].)
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEventJson {
    event_type: String,
    payload: Map<String, Value>,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    dedup_key: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

impl From<NewEventJson> for NewEvent {
    fn from(json: NewEventJson) -> NewEvent {
        NewEvent {
            event_type: json.event_type,
            payload: json.payload,
            user_id: json.user_id,
            dedup_key: json.dedup_key,
            presentation: Presentation {
                title: json.title,
                body: json.body,
                level: json.level,
                color: json.color,
                url: json.url,
            }
            .normalized(),
        }
    }
}

impl NewEvent {
    /// Checks the type name and the payload size; every path that stores an event calls this.
    pub fn validate(&self) -> Result<()> {
        validate_event_type(&self.event_type)?;
        payload_json(&self.payload)?;
        validate_dedup_key(self.dedup_key.as_deref())?;
        self.presentation.validate()
    }

    /// Checks the event like [`validate`](Self::validate) and keeps the payload serialized,
    /// so that it is serialized once however many hands it passes through.
    pub fn into_valid(self) -> Result<ValidEvent> {
        validate_event_type(&self.event_type)?;
        let payload_json = payload_json(&self.payload)?;
        validate_dedup_key(self.dedup_key.as_deref())?;
        self.presentation.validate()?;
        let presentation_json = self.presentation.to_json()?;
        // The payload map is dropped here: a large batch then holds only its serialized
        // payloads, a fraction of the memory.
        Ok(ValidEvent {
            event_type: self.event_type,
            user_id: self.user_id,
            dedup_key: self.dedup_key,
            payload_json,
            presentation_json,
        })
    }

    /// Adds `codespace_name` and `timestamp` to the payload when absent, as the original
    /// publisher did.
    pub fn complete(&mut self, codespace: Option<&str>, now: DateTime<Utc>) {
        self.complete_with(codespace, &format_timestamp(now));
    }

    /// [`complete`](Self::complete) with the timestamp already formatted, for batches.
    pub fn complete_with(&mut self, codespace: Option<&str>, timestamp: &str) {
        if !self.payload.contains_key("codespace_name") {
            let name = codespace.filter(|name| !name.is_empty());
            self.payload.insert(
                "codespace_name".into(),
                name.map_or(Value::Null, |name| Value::String(name.into())),
            );
        }
        if !self.payload.contains_key("timestamp") {
            self.payload
                .insert("timestamp".into(), Value::String(timestamp.into()));
        }
    }
}

/// A [`NewEvent`] that passed validation, with its payload serialized as it will be stored.
/// The only way to make one is [`NewEvent::into_valid`]. The accessors return references to
/// owned values so that they can be bound as SQL parameters as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    event_type: String,
    user_id: String,
    dedup_key: Option<String>,
    payload_json: String,
    presentation_json: Option<String>,
}

impl ValidEvent {
    pub fn event_type(&self) -> &String {
        &self.event_type
    }

    pub fn user_id(&self) -> &String {
        &self.user_id
    }

    pub fn dedup_key(&self) -> &Option<String> {
        &self.dedup_key
    }

    /// The payload as stored: compact JSON, at most [`MAX_PAYLOAD_BYTES`].
    pub fn payload_json(&self) -> &String {
        &self.payload_json
    }

    /// The presentation as stored: compact JSON, or `None` when the publisher gave none.
    pub fn presentation_json(&self) -> &Option<String> {
        &self.presentation_json
    }
}

fn payload_json(payload: &Map<String, Value>) -> Result<String> {
    let text = serde_json::to_string(payload).context("serializing the payload")?;
    let size = text.len();
    if size > MAX_PAYLOAD_BYTES {
        bail!("payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes (64 KiB)");
    }
    Ok(text)
}

fn validate_dedup_key(key: Option<&str>) -> Result<()> {
    match key {
        Some(key) if key.is_empty() || key.len() > 256 => {
            bail!("dedup key must be 1 to 256 bytes long")
        }
        _ => Ok(()),
    }
}

/// Event type names are lowercase ASCII words joined by underscores, as the original used.
pub fn validate_event_type(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 {
        bail!("invalid event type {name:?}: it must be 1 to 64 characters of [a-z0-9_]");
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
    {
        bail!("invalid event type {name:?}: only lowercase letters, digits and '_' are allowed");
    }
    Ok(())
}

/// The format dq writes every timestamp in: RFC 3339, UTC, microseconds.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads an RFC 3339 timestamp, or the naive local timestamps the original Python system wrote
/// (`2026-11-27T17:59:01.259152`, with `T` or a space, with or without fractions).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_event(event_type: &str, payload: Value) -> NewEvent {
        NewEvent {
            event_type: event_type.into(),
            payload: payload.as_object().cloned().unwrap_or_default(),
            user_id: String::new(),
            dedup_key: None,
            presentation: Presentation::default(),
        }
    }

    #[test]
    fn events_from_a_source_accept_the_payload_as_an_object_or_its_text() {
        let object = r#"{"id":1,"user_id":"","event_type":"t","payload":{"a":1},"created_at":"x"}"#;
        let text =
            r#"{"id":1,"user_id":"","event_type":"t","payload":"{\"a\": 1}","created_at":"x"}"#;
        let odd = r#"{"id":1,"user_id":"","event_type":"t","payload":[1],"created_at":"x"}"#;
        let payload = |json: &str| serde_json::from_str::<Event>(json).unwrap().payload;
        assert_eq!(payload(object), payload(text));
        assert_eq!(payload(odd)["raw"], json!([1]));
        assert_eq!(payload_from_text("not json")["raw"], json!("not json"));
    }

    #[test]
    fn event_type_names_are_lowercase_words() {
        assert!(validate_event_type("backup_error").is_ok());
        assert!(validate_event_type("disk_90").is_ok());
        for bad in ["", "Backup", "a-b", "a b", "é", &"x".repeat(65)] {
            assert!(validate_event_type(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn payload_over_64_kib_is_refused() {
        let big = new_event("custom", json!({ "text": "x".repeat(MAX_PAYLOAD_BYTES) }));
        assert!(big.validate().is_err());
        let fits = new_event("custom", json!({ "text": "x".repeat(1000) }));
        assert!(fits.validate().is_ok());
    }

    #[test]
    fn complete_adds_codespace_and_timestamp_only_when_absent() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 17, 59, 1).unwrap();
        let mut event = new_event("custom", json!({ "timestamp": "kept" }));
        event.complete(Some("cs-1"), now);
        assert_eq!(event.payload["codespace_name"], json!("cs-1"));
        assert_eq!(event.payload["timestamp"], json!("kept"));

        let mut event = new_event("custom", json!({}));
        event.complete(None, now);
        assert_eq!(event.payload["codespace_name"], Value::Null);
        assert_eq!(
            event.payload["timestamp"],
            json!("2026-11-27T17:59:01.000000Z")
        );
    }

    #[test]
    fn timestamps_of_both_systems_parse() {
        let utc = parse_timestamp("2026-11-27T17:59:01.259152Z").unwrap();
        assert_eq!(format_timestamp(utc), "2026-11-27T17:59:01.259152Z");
        assert!(parse_timestamp("2026-11-27T17:59:01.259152").is_some());
        assert!(parse_timestamp("2026-11-27 17:59:01").is_some());
        assert!(parse_timestamp("2026-11-27T17:59:01+02:00").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
