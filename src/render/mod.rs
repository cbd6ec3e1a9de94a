//! Rendering, pure: events become the JSON bodies of Discord messages. An embed is built in
//! layers: `builtin` lays the event out as its type does (EMBEDS.md), the config file's
//! `template` for the type restyles it, the publisher's presentation (`--title`, `--level`,
//! ...) wins over both, and `limits` then cuts every text to Discord's limits. `render` puts
//! embeds into one message, `plan` groups events into messages and `nonce` names a message
//! stably. Nothing here knows about HTTP, the store or the sources.

use std::sync::Arc;

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::event::{Event, Presentation};

mod builtin;
pub mod limits;
mod template;

use builtin::Layout;
pub use limits::{count, cut};
pub use template::{TemplateError, Templates};

/// The language of the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// The original system's messages.
    #[default]
    Es,
    En,
}

/// How events become messages.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub lang: Lang,
    /// Put `<@user_id>` in the content so the people concerned are pinged (webhook delivery:
    /// mentions inside embeds notify nobody).
    pub mention: bool,
    /// The config file's `[templates.TYPE]`, if any.
    pub templates: Option<Arc<Templates>>,
}

/// One embed. Field order is Discord's; absent parts are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the title links to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub color: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Footer {
    pub text: String,
}

/// The embed of one event: its type's layout restyled by its template and then by the
/// publisher's presentation, each part within its own limit and the whole within 6,000
/// characters. A template that fails to render is reported and left out.
pub fn embed(event: &Event, options: &RenderOptions) -> Embed {
    embed_with(event, options, true)
}

/// [`embed`], reporting template failures only when `report` is set (sizing an embed for
/// `plan` must not report them a second time).
fn embed_with(event: &Event, options: &RenderOptions, report: bool) -> Embed {
    let mut layout = builtin::layout(event, options.lang);
    if let Some(templates) = &options.templates {
        templates.apply(event, options.lang, &mut layout, report);
    }
    present(&mut layout, &event.presentation);
    finish(layout, event)
}

/// The publisher's `--title`, `--body`, `--level`, `--color` and `--url`, over the layout.
/// A value the presentation cannot use (from a row or a source that did not check it) is
/// left out.
fn present(layout: &mut Layout, presentation: &Presentation) {
    if let Some(title) = &presentation.title {
        if !layout.emoji_stays {
            layout.emoji = None;
        }
        layout.title = Some(title.clone());
    }
    if let Some(body) = &presentation.body {
        layout.description = Some(body.clone());
    }
    if let Some(level) = presentation.level() {
        layout.emoji = Some(level.emoji());
        layout.color = level.color();
    }
    if let Some(color) = presentation.color() {
        layout.color = color;
    }
    if let Some(url) = presentation.url() {
        layout.url = Some(url.into());
    }
}

/// The layout as an embed: the emoji before the title (or before the description of a
/// message without one), the event's time, and Discord's limits.
fn finish(layout: Layout, event: &Event) -> Embed {
    let blank = |text: &String| text.trim().is_empty();
    let mut description = layout.description.filter(|text| !blank(text));
    let title = match (layout.emoji, layout.title.filter(|text| !blank(text))) {
        (Some(emoji), Some(title)) => Some(format!("{emoji} {title}")),
        (None, title) => title,
        (Some(emoji), None) => match &mut description {
            Some(text) => {
                *text = format!("{emoji} {text}");
                None
            }
            None => Some(emoji.to_string()),
        },
    };
    let mut embed = Embed {
        title,
        description,
        url: layout.url,
        color: layout.color,
        fields: layout.fields,
        footer: layout.footer.map(|text| Footer { text }),
        timestamp: event
            .created_utc()
            .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true)),
    };
    if embed.title.is_none() && embed.description.is_none() && embed.fields.is_empty() {
        // Discord refuses an embed with nothing to show.
        embed.title = Some(event.event_type.clone());
    }
    embed.enforce_part_limits();
    embed.shrink_to(limits::TOTAL);
    embed
}

/// The JSON body of one message carrying `events` (at most 10: the rest are left out, so
/// callers group with `plan`). Every limit holds whatever the events contain.
pub fn render(events: &[Event], options: &RenderOptions) -> Value {
    let events = &events[..events.len().min(limits::EMBEDS)];
    let mut embeds: Vec<Embed> = events.iter().map(|event| embed(event, options)).collect();
    let total: usize = embeds.iter().map(Embed::size).sum();
    if total > limits::TOTAL {
        // Only reached when a caller put too much in one message: share the budget evenly.
        let budget = limits::TOTAL / embeds.len().max(1);
        for embed in &mut embeds {
            embed.shrink_to(budget);
        }
    }
    let mut body = Map::new();
    if options.mention {
        let mut users: Vec<&str> = Vec::new();
        for event in events {
            let user = event.user_id.trim();
            // Only snowflakes: anything else in content could ping the wrong people.
            if !user.is_empty()
                && user.len() <= 20
                && user.bytes().all(|byte| byte.is_ascii_digit())
                && !users.contains(&user)
            {
                users.push(user);
            }
        }
        if !users.is_empty() {
            let content: Vec<String> = users.iter().map(|user| format!("<@{user}>")).collect();
            body.insert(
                "content".into(),
                json!(cut(&content.join(" "), limits::CONTENT)),
            );
            body.insert(
                "allowed_mentions".into(),
                json!({ "parse": [], "users": users }),
            );
        }
    }
    body.insert("embeds".into(), json!(embeds));
    Value::Object(body)
}

/// Events grouped into messages: consecutive events share a channel message while it has
/// room (10 embeds, 6,000 characters). A direct message (`by_user`) carries one event: its
/// nonce must be a function of that event alone, because an event whose send failed after
/// Discord took it can come back next to other events, and a nonce over the new group would
/// not match the first one, so Discord would post the event again.
pub fn plan(events: Vec<Event>, by_user: bool, options: &RenderOptions) -> Vec<Vec<Event>> {
    if by_user {
        return events.into_iter().map(|event| vec![event]).collect();
    }
    let mut groups: Vec<(usize, Vec<Event>)> = Vec::new();
    for event in events {
        let size = embed_with(&event, options, false).size();
        match groups.last_mut() {
            Some((total, group))
                if group.len() < limits::EMBEDS && *total + size <= limits::TOTAL =>
            {
                *total += size;
                group.push(event);
            }
            _ => groups.push((size, vec![event])),
        }
    }
    groups.into_iter().map(|(_, events)| events).collect()
}

/// A stable 64-bit hash (FNV-1a): nonces must not change across restarts or Rust versions.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The `nonce` of the message carrying `ids` from `source`: the same on every retry and
/// after a restart, different for any other set of events, at most 25 characters.
pub fn nonce(source: &str, ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let hash = fnv1a(&[source.as_bytes(), ids.join(",").as_bytes()]);
    format!("dq{hash:016x}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event;

    /// An event for the tests of rendering: id 1, user 123.
    pub(crate) fn event(event_type: &str, payload: Value) -> Event {
        Event {
            id: 1,
            user_id: "123".into(),
            event_type: event_type.into(),
            payload: payload.as_object().cloned().unwrap_or_default(),
            created_at: "2026-11-27T17:59:01.259152Z".into(),
            attempts: 0,
            last_attempt: None,
            error_message: None,
            presentation: Default::default(),
        }
    }

    #[test]
    fn every_limit_holds_whatever_the_payload() {
        let mut payload = Map::new();
        for index in 0..40 {
            payload.insert(
                format!("{}{index}", "k".repeat(300)),
                json!("v".repeat(2000)),
            );
        }
        payload.insert("empty".into(), json!(""));
        let big = event("huge", Value::Object(payload));
        let embed = embed(&big, &RenderOptions::default());
        assert!(embed.size() <= limits::TOTAL);
        assert!(embed.fields.len() <= limits::FIELDS);
        for field in &embed.fields {
            assert!(!field.name.is_empty() && !field.value.is_empty());
            assert!(count(&field.name) <= limits::FIELD_NAME);
            assert!(count(&field.value) <= limits::FIELD_VALUE);
        }
        let ten: Vec<Event> = (0..10).map(|_| big.clone()).collect();
        let body = render(&ten, &RenderOptions::default());
        let total: usize = body["embeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|embed| {
                let text = |value: &Value| value.as_str().map_or(0, count);
                text(&embed["title"])
                    + text(&embed["description"])
                    + text(&embed["footer"]["text"])
                    + embed["fields"].as_array().map_or(0, |fields| {
                        fields
                            .iter()
                            .map(|field| text(&field["name"]) + text(&field["value"]))
                            .sum()
                    })
            })
            .sum();
        assert!(total <= limits::TOTAL, "{total}");
    }

    #[test]
    fn plan_keeps_messages_within_ten_embeds_and_six_thousand_characters() {
        let small: Vec<Event> = (0..25).map(|_| event("x", json!({"a": 1}))).collect();
        let sizes: Vec<usize> = plan(small, false, &RenderOptions::default())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        let big: Vec<Event> = (0..3)
            .map(|_| {
                event(
                    event::BACKUP_ERROR,
                    json!({"error_message": "e".repeat(4000)}),
                )
            })
            .collect();
        assert_eq!(
            plan(big, false, &RenderOptions::default()).len(),
            3,
            "two of them would pass 6,000"
        );
    }

    #[test]
    fn plan_sends_each_direct_message_alone() {
        let mut events: Vec<Event> = (0..3).map(|_| event("x", json!({}))).collect();
        events[1].user_id = "456".into();
        let groups = plan(events, true, &RenderOptions::default());
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [1, 1, 1],
            "a DM's nonce must not depend on its neighbours"
        );
    }

    #[test]
    fn nonces_are_short_stable_and_distinct() {
        let one = nonce("http://a", &[1, 2]);
        assert_eq!(one, nonce("http://a", &[1, 2]));
        assert_ne!(one, nonce("http://b", &[1, 2]));
        assert_ne!(one, nonce("http://a", &[1]));
        assert!(one.len() <= limits::NONCE);
    }
}
