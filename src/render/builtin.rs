//! The layouts of EMBEDS.md: the original system's title, colour, fields and footer per
//! known event type, in Spanish and English, the `message` of `dq publish message`, and the
//! generic embed of any other type. A layout is what the type says before the template and
//! the publisher have theirs, and before Discord's limits are applied.

use serde_json::{Map, Value};

use super::limits;
use super::{Field, Lang};
use crate::event::{self, Event};

const RED: u32 = event::RED;
const GREEN: u32 = event::GREEN;
const BLURPLE: u32 = 0x5865F2;
const BACKUP_FOOTER: &str = "d0ce3|tools • Backup Monitor";

/// An embed as the event's type lays it out. The title's emoji is kept apart, so that a
/// level can replace it and another title can go after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub emoji: Option<&'static str>,
    pub title: Option<String>,
    /// Whether the emoji stays before a title given instead of this one: a known type's emoji
    /// says what happened (✅, ❌); the generic bell only goes with the type's name.
    pub emoji_stays: bool,
    pub description: Option<String>,
    pub url: Option<String>,
    pub color: u32,
    pub fields: Vec<Field>,
    pub footer: Option<String>,
}

/// A payload value as text: strings as they are, anything else as compact JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A payload string, treating null, absent and empty as absent.
fn string_field(payload: &Map<String, Value>, key: &str) -> Option<String> {
    match payload.get(key) {
        None | Some(Value::Null) => None,
        Some(value) => Some(text_of(value)).filter(|text| !text.trim().is_empty()),
    }
}

/// A number formatted with `decimals`, or the value as given when it is not a number.
fn number_text(value: Option<&Value>, decimals: usize) -> Option<String> {
    let value = value.filter(|value| !value.is_null())?;
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    Some(match number.filter(|number| number.is_finite()) {
        Some(number) => format!("{number:.decimals$}"),
        None => text_of(value),
    })
}

/// A code block cannot hold three backticks in a row; a zero-width space keeps them apart.
pub(super) fn code_block(text: &str) -> String {
    format!("```\n{}\n```", text.replace("```", "`\u{200b}``"))
}

fn inline(name: &str, value: impl Into<String>) -> Field {
    Field {
        name: name.into(),
        value: value.into(),
        inline: true,
    }
}

/// "some_key" → "Some Key", as the original titled detail keys.
fn title_case(key: &str) -> String {
    key.replace('_', " ")
        .split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Words {
    unknown: &'static str,
    unknown_error: &'static str,
    compression: &'static str,
    upload: &'static str,
    backup_failed: &'static str,
    backup_done: &'static str,
    minecraft: &'static str,
    kind: &'static str,
    file: &'static str,
    size: &'static str,
    duration: &'static str,
    players: &'static str,
}

const SPANISH: Words = Words {
    unknown: "Desconocido",
    unknown_error: "Error desconocido",
    compression: "Error en Compresión de Backup",
    upload: "Error en Subida a MEGA",
    backup_failed: "Error en Backup",
    backup_done: "Backup Completado",
    minecraft: "Servidor Minecraft",
    kind: "Tipo",
    file: "Archivo",
    size: "Tamaño",
    duration: "Duración",
    players: "Jugadores",
};

const ENGLISH: Words = Words {
    unknown: "Unknown",
    unknown_error: "Unknown error",
    compression: "Backup compression failed",
    upload: "Upload to MEGA failed",
    backup_failed: "Backup failed",
    backup_done: "Backup completed",
    minecraft: "Minecraft server",
    kind: "Type",
    file: "File",
    size: "Size",
    duration: "Duration",
    players: "Players",
};

/// The layout of one event's type, its texts not yet cut to Discord's limits.
pub fn layout(event: &Event, lang: Lang) -> Layout {
    let words = match lang {
        Lang::Es => &SPANISH,
        Lang::En => &ENGLISH,
    };
    let payload = &event.payload;
    let codespace = string_field(payload, "codespace_name");
    let codespace_or_unknown = codespace.clone().unwrap_or_else(|| words.unknown.into());
    let known = |emoji: &'static str, title: String, color: u32| Layout {
        emoji: Some(emoji),
        title: Some(title),
        emoji_stays: true,
        description: None,
        url: None,
        color,
        fields: Vec::new(),
        footer: None,
    };
    match event.event_type.as_str() {
        event::BACKUP_ERROR => {
            let error_type =
                string_field(payload, "error_type").unwrap_or_else(|| "general".into());
            let (emoji, title) = if error_type.contains("compression") {
                ("📦", words.compression)
            } else if error_type.contains("upload") {
                ("☁️", words.upload)
            } else {
                ("❌", words.backup_failed)
            };
            let message = string_field(payload, "error_message")
                .unwrap_or_else(|| words.unknown_error.into());
            let mut fields = vec![
                inline("Codespace", codespace_or_unknown),
                inline(words.kind, error_type),
            ];
            if let Some(file) = string_field(payload, "backup_file") {
                fields.push(inline(words.file, file));
            }
            Layout {
                description: Some(code_block(&message)),
                fields,
                footer: Some(BACKUP_FOOTER.into()),
                ..known(emoji, title.into(), RED)
            }
        }
        event::BACKUP_SUCCESS => {
            let file = string_field(payload, "backup_file")
                .map_or_else(|| words.unknown.to_string(), |file| format!("`{file}`"));
            let size = number_text(payload.get("size_mb"), 2)
                .map_or_else(|| words.unknown.to_string(), |size| format!("{size} MB"));
            let duration = number_text(payload.get("duration_seconds"), 1).map_or_else(
                || words.unknown.to_string(),
                |seconds| format!("{seconds}s"),
            );
            Layout {
                fields: vec![
                    Field {
                        name: words.file.into(),
                        value: file,
                        inline: false,
                    },
                    inline(words.size, size),
                    inline(words.duration, duration),
                    inline("Codespace", codespace_or_unknown),
                ],
                footer: Some(BACKUP_FOOTER.into()),
                ..known("✅", words.backup_done.into(), GREEN)
            }
        }
        event::MINECRAFT_STATUS => {
            let status = string_field(payload, "status").unwrap_or_else(|| "unknown".into());
            let emoji = match status.as_str() {
                "online" => "✅",
                "offline" => "❌",
                "starting" => "🔄",
                "stopping" => "⏹️",
                _ => "❓",
            };
            let mut fields = Vec::new();
            if let Some(ip) = string_field(payload, "ip") {
                let port = string_field(payload, "port");
                let address = match port.as_deref() {
                    None | Some("25565") => ip,
                    Some(port) => format!("{ip}:{port}"),
                };
                fields.push(inline("IP", format!("`{address}`")));
            }
            if status == "online" {
                let players = string_field(payload, "players_online").unwrap_or_else(|| "0".into());
                fields.push(inline(words.players, players));
            }
            let title = format!("{} - {}", words.minecraft, status.to_uppercase());
            let color = if status == "online" { GREEN } else { RED };
            Layout {
                fields,
                ..known(emoji, title, color)
            }
        }
        event::CODESPACE_STATUS => {
            let action = string_field(payload, "action").unwrap_or_else(|| "unknown".into());
            let emoji = match action.as_str() {
                "started" => "▶️",
                "stopped" => "⏹️",
                "error" => "❌",
                _ => "🔔",
            };
            let fields = match payload.get("details") {
                Some(Value::Object(details)) => details
                    .iter()
                    .map(|(key, value)| inline(&title_case(key), text_of(value)))
                    .collect(),
                _ => Vec::new(),
            };
            let title = format!("Codespace {}", action.to_uppercase());
            let color = if action == "started" { GREEN } else { RED };
            Layout {
                description: Some(format!("**{codespace_or_unknown}**")),
                fields,
                ..known(emoji, title, color)
            }
        }
        // `dq publish message`: the text is the message; no title unless one is given.
        event::MESSAGE => Layout {
            emoji: None,
            title: None,
            emoji_stays: false,
            description: string_field(payload, "message"),
            url: None,
            color: BLURPLE,
            fields: payload_fields(payload, &["message"]),
            footer: codespace,
        },
        other => Layout {
            emoji: Some("🔔"),
            title: Some(other.into()),
            emoji_stays: false,
            description: None,
            url: None,
            color: BLURPLE,
            fields: payload_fields(payload, &[]),
            footer: codespace,
        },
    }
}

/// One inline field per payload key, in the payload's order, but for the two keys dq adds to
/// every payload and those in `shown`.
fn payload_fields(payload: &Map<String, Value>, shown: &[&str]) -> Vec<Field> {
    payload
        .iter()
        .filter(|(key, _)| *key != "codespace_name" && *key != "timestamp")
        .filter(|(key, _)| !shown.contains(&key.as_str()))
        .take(limits::FIELDS)
        .map(|(key, value)| inline(key, text_of(value)))
        .collect()
}
