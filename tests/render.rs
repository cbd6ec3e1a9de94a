//! The messages of EMBEDS.md, compared whole, in Spanish and English; and a property: no
//! payload, presentation or template makes a message Discord would reject.
#![allow(clippy::unwrap_used)]

mod support;

use dq::event::{Event, Presentation};
use dq::render::{plan, render, Lang, RenderOptions, Templates};
use proptest::prelude::*;
use serde_json::{json, Value};

const WHEN: &str = "2026-11-27T17:59:01.259Z";

fn event(event_type: &str, payload: Value) -> Event {
    Event {
        id: 7,
        user_id: "42".into(),
        event_type: event_type.into(),
        payload: payload.as_object().cloned().unwrap(),
        created_at: "2026-11-27T17:59:01.259152Z".into(),
        attempts: 0,
        last_attempt: None,
        error_message: None,
        presentation: Default::default(),
    }
}

fn one(event: Event, lang: Lang) -> Value {
    let body = render(
        &[event],
        &RenderOptions {
            lang,
            ..RenderOptions::default()
        },
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "only embeds: {body}");
    assert_eq!(body["embeds"].as_array().unwrap().len(), 1);
    body["embeds"][0].clone()
}

#[test]
fn backup_error_renders_as_the_original_in_spanish_and_english() {
    let compression = event(
        "backup_error",
        json!({"error_type": "backup_compression", "error_message": "No space left",
               "backup_file": "w.tar.gz", "codespace_name": "cs-1", "timestamp": "x"}),
    );
    assert_eq!(
        one(compression.clone(), Lang::Es),
        json!({
            "title": "📦 Error en Compresión de Backup",
            "description": "```\nNo space left\n```",
            "color": 16711680,
            "fields": [
                {"name": "Codespace", "value": "cs-1", "inline": true},
                {"name": "Tipo", "value": "backup_compression", "inline": true},
                {"name": "Archivo", "value": "w.tar.gz", "inline": true},
            ],
            "footer": {"text": "d0ce3|tools • Backup Monitor"},
            "timestamp": WHEN,
        })
    );
    assert_eq!(
        one(compression, Lang::En),
        json!({
            "title": "📦 Backup compression failed",
            "description": "```\nNo space left\n```",
            "color": 16711680,
            "fields": [
                {"name": "Codespace", "value": "cs-1", "inline": true},
                {"name": "Type", "value": "backup_compression", "inline": true},
                {"name": "File", "value": "w.tar.gz", "inline": true},
            ],
            "footer": {"text": "d0ce3|tools • Backup Monitor"},
            "timestamp": WHEN,
        })
    );
    let upload = event("backup_error", json!({"error_type": "backup_upload"}));
    assert_eq!(
        one(upload.clone(), Lang::Es)["title"],
        "☁️ Error en Subida a MEGA"
    );
    assert_eq!(one(upload, Lang::En)["title"], "☁️ Upload to MEGA failed");
    let bare = event("backup_error", json!({"codespace_name": null}));
    assert_eq!(
        one(bare.clone(), Lang::Es),
        json!({
            "title": "❌ Error en Backup",
            "description": "```\nError desconocido\n```",
            "color": 16711680,
            "fields": [
                {"name": "Codespace", "value": "Desconocido", "inline": true},
                {"name": "Tipo", "value": "general", "inline": true},
            ],
            "footer": {"text": "d0ce3|tools • Backup Monitor"},
            "timestamp": WHEN,
        })
    );
    let english = one(bare, Lang::En);
    assert_eq!(english["title"], "❌ Backup failed");
    assert_eq!(english["description"], "```\nUnknown error\n```");
    assert_eq!(english["fields"][0]["value"], "Unknown");
}

#[test]
fn backup_success_renders_numbers_and_keeps_odd_values_as_given() {
    let success = event(
        "backup_success",
        json!({"backup_file": "w.tar.gz", "size_mb": 512.5, "duration_seconds": 42,
               "codespace_name": "cs-1"}),
    );
    assert_eq!(
        one(success.clone(), Lang::Es),
        json!({
            "title": "✅ Backup Completado",
            "color": 65280,
            "fields": [
                {"name": "Archivo", "value": "`w.tar.gz`", "inline": false},
                {"name": "Tamaño", "value": "512.50 MB", "inline": true},
                {"name": "Duración", "value": "42.0s", "inline": true},
                {"name": "Codespace", "value": "cs-1", "inline": true},
            ],
            "footer": {"text": "d0ce3|tools • Backup Monitor"},
            "timestamp": WHEN,
        })
    );
    let english = one(success, Lang::En);
    assert_eq!(english["title"], "✅ Backup completed");
    let names: Vec<&str> = english["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["File", "Size", "Duration", "Codespace"]);

    let odd = event(
        "backup_success",
        json!({"backup_file": "w", "size_mb": "big", "duration_seconds": [1]}),
    );
    let fields = one(odd, Lang::Es)["fields"].clone();
    assert_eq!(fields[1]["value"], "big MB");
    assert_eq!(fields[2]["value"], "[1]s");
}

#[test]
fn minecraft_status_renders_each_state() {
    let online = event(
        "minecraft_status",
        json!({"status": "online", "ip": "1.2.3.4", "port": 25565, "players_online": 3}),
    );
    assert_eq!(
        one(online.clone(), Lang::Es),
        json!({
            "title": "✅ Servidor Minecraft - ONLINE",
            "color": 65280,
            "fields": [
                {"name": "IP", "value": "`1.2.3.4`", "inline": true},
                {"name": "Jugadores", "value": "3", "inline": true},
            ],
            "timestamp": WHEN,
        })
    );
    assert_eq!(
        one(online, Lang::En)["title"],
        "✅ Minecraft server - ONLINE"
    );
    let offline = event(
        "minecraft_status",
        json!({"status": "offline", "ip": "1.2.3.4", "port": 25570, "players_online": 0}),
    );
    assert_eq!(
        one(offline, Lang::En),
        json!({
            "title": "❌ Minecraft server - OFFLINE",
            "color": 16711680,
            "fields": [{"name": "IP", "value": "`1.2.3.4:25570`", "inline": true}],
            "timestamp": WHEN,
        })
    );
    for (status, title) in [
        ("starting", "🔄 Servidor Minecraft - STARTING"),
        ("stopping", "⏹️ Servidor Minecraft - STOPPING"),
        ("exploded", "❓ Servidor Minecraft - EXPLODED"),
    ] {
        let embed = one(
            event("minecraft_status", json!({"status": status})),
            Lang::Es,
        );
        assert_eq!(embed["title"], title);
        assert!(
            embed.get("fields").is_none(),
            "no ip, not online: no fields"
        );
    }
}

#[test]
fn codespace_status_renders_details_as_titled_fields() {
    let started = event(
        "codespace_status",
        json!({"action": "started", "codespace_name": "cs-1",
               "details": {"git_branch": "main", "uptime_s": 5}}),
    );
    let expected = json!({
        "title": "▶️ Codespace STARTED",
        "description": "**cs-1**",
        "color": 65280,
        "fields": [
            {"name": "Git Branch", "value": "main", "inline": true},
            {"name": "Uptime S", "value": "5", "inline": true},
        ],
        "timestamp": WHEN,
    });
    assert_eq!(one(started.clone(), Lang::Es), expected);
    assert_eq!(one(started, Lang::En), expected);
    let stopped = one(
        event(
            "codespace_status",
            json!({"action": "stopped", "details": {}}),
        ),
        Lang::Es,
    );
    assert_eq!(
        stopped,
        json!({"title": "⏹️ Codespace STOPPED", "description": "**Desconocido**",
               "color": 16711680, "timestamp": WHEN})
    );
    let error = one(
        event("codespace_status", json!({"action": "error"})),
        Lang::En,
    );
    assert_eq!(error["title"], "❌ Codespace ERROR");
    assert_eq!(error["description"], "**Unknown**");
}

#[test]
fn unknown_types_get_a_generic_embed_from_the_payload_in_its_key_order() {
    let custom = event(
        "disk_full",
        json!({"mount": "/data", "used": 97, "flags": {"a": [1, 2]}, "empty": "",
               "codespace_name": "cs-1", "timestamp": "2026-11-27T17:59:01Z"}),
    );
    let expected = json!({
        "title": "🔔 disk_full",
        "color": 5793266,
        "fields": [
            {"name": "mount", "value": "/data", "inline": true},
            {"name": "used", "value": "97", "inline": true},
            {"name": "flags", "value": "{\"a\":[1,2]}", "inline": true},
            {"name": "empty", "value": "—", "inline": true},
        ],
        "footer": {"text": "cs-1"},
        "timestamp": WHEN,
    });
    assert_eq!(one(custom.clone(), Lang::Es), expected);
    assert_eq!(one(custom, Lang::En), expected);
    let many: serde_json::Map<String, Value> = (0..40)
        .map(|index| (format!("k{index:02}"), json!(index)))
        .collect();
    let embed = one(event("lots", Value::Object(many)), Lang::Es);
    assert_eq!(embed["fields"].as_array().unwrap().len(), 25);
    assert!(embed.get("footer").is_none(), "no codespace, no footer");
}

#[test]
fn the_original_naive_timestamps_become_utc() {
    let mut old = event("test", json!({}));
    old.created_at = "2026-11-27 17:59:01".into();
    let timestamp = one(old, Lang::Es)["timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        timestamp.ends_with('Z') && timestamp.contains("59:01"),
        "{timestamp}"
    );
    let mut garbage = event("test", json!({}));
    garbage.created_at = "not a time".into();
    assert!(one(garbage, Lang::Es).get("timestamp").is_none());
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z_ ]{0,12}",
        2 => "\\PC{0,40}",
        1 => (1usize..7000).prop_map(|length| "ñ`".repeat(length / 2)),
        1 => Just("   ".to_string()),
        1 => Just("```".repeat(50)),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_text().prop_map(Value::from),
        any::<f64>().prop_map(|number| json!(number)),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        prop::collection::btree_map("[a-z_]{1,300}", any_text(), 0..5).prop_map(|map| json!(map)),
    ]
}

fn any_event() -> impl Strategy<Value = Event> {
    let event_type = prop_oneof![
        Just("backup_error".to_string()),
        Just("backup_success".to_string()),
        Just("minecraft_status".to_string()),
        Just("codespace_status".to_string()),
        Just("message".to_string()),
        Just("a".to_string()),
        "[a-z_]{1,64}",
    ];
    let keys = prop_oneof![
        Just("error_message".to_string()),
        Just("error_type".to_string()),
        Just("backup_file".to_string()),
        Just("size_mb".to_string()),
        Just("duration_seconds".to_string()),
        Just("status".to_string()),
        Just("ip".to_string()),
        Just("port".to_string()),
        Just("players_online".to_string()),
        Just("action".to_string()),
        Just("details".to_string()),
        Just("codespace_name".to_string()),
        "[a-z]{1,3}",
        (250usize..300).prop_map(|length| "k".repeat(length)),
    ];
    (
        event_type,
        prop::collection::btree_map(keys, any_value(), 0..30),
        any_presentation(),
    )
        .prop_map(|(event_type, payload, presentation)| Event {
            presentation,
            ..event(&event_type, Value::Object(payload.into_iter().collect()))
        })
}

/// What publishers may set, and what a row or a source might hold that no publisher could
/// (a bad level, colour or link): the renderer must leave that out, not fail.
fn any_presentation() -> impl Strategy<Value = Presentation> {
    let level = prop_oneof![
        Just("info".to_string()),
        Just("warning".to_string()),
        Just("error".to_string()),
        Just("success".to_string()),
        "\\PC{0,8}",
    ];
    let color = prop_oneof![
        Just("red".to_string()),
        Just("grey".to_string()),
        "#[0-9a-fA-F]{6}",
        "\\PC{0,8}",
    ];
    let url = prop_oneof![
        "https://[a-z]{1,10}\\.example/[a-z/?=#]{0,30}",
        Just(format!("https://e.example/{}", "x".repeat(3000))),
        "\\PC{0,30}",
    ];
    (
        prop::option::of(any_text()),
        prop::option::of(any_text()),
        prop::option::of(level),
        prop::option::of(color),
        prop::option::of(url),
    )
        .prop_map(|(title, body, level, color, url)| Presentation {
            title,
            body,
            level,
            color,
            url,
        })
}

/// One piece of a template: text of any kind, or an expression over the event that compiles
/// whatever the event holds (it may still fail or render empty when rendered).
fn any_piece() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("status".to_string()),
        Just("size_mb".to_string()),
        Just("details".to_string()),
        Just("codespace_name".to_string()),
        Just("payload".to_string()),
        Just("missing".to_string()),
        // Random names may be keywords (`not`, `in`): looked up, not named.
        "[a-z]{1,3}".prop_map(|key| format!("payload['{key}']")),
    ];
    prop_oneof![
        3 => any_text().prop_map(|text| text.replace(['{', '}', '%', '#'], "")),
        2 => key.clone().prop_map(|key| format!("{{{{ {key} }}}}")),
        1 => key.clone().prop_map(|key| format!("{{{{ {key} | filesize }}}}")),
        1 => key.clone().prop_map(|key| format!("{{{{ {key} | duration }}}}")),
        1 => key.prop_map(|key| format!("{{% for item in {key} %}}{{{{ item }}}},{{% endfor %}}")),
        1 => (1usize..30_000).prop_map(|count| format!("{{{{ 'ñ' * {count} }}}}")),
        1 => Just("{{ event_type | upper }} {{ created_at }}".to_string()),
    ]
}

fn any_template() -> impl Strategy<Value = String> {
    prop::collection::vec(any_piece(), 1..4).prop_map(|pieces| pieces.concat())
}

/// The parts one `[templates.TYPE]` table sets.
#[derive(Debug, Clone)]
struct Section {
    parts: Vec<(&'static str, String)>,
    fields: Option<Vec<(String, String, bool)>>,
}

impl Section {
    fn toml(&self, header: &str) -> String {
        let quoted = |text: &String| serde_json::to_string(text).unwrap();
        let mut out = format!("[{header}]\n");
        for (key, value) in &self.parts {
            out.push_str(&format!("{key} = {}\n", quoted(value)));
        }
        if let Some(fields) = &self.fields {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, value, inline)| {
                    format!(
                        "{{ name = {}, value = {}, inline = {inline} }}",
                        quoted(name),
                        quoted(value)
                    )
                })
                .collect();
            out.push_str(&format!("fields = [{}]\n", fields.join(", ")));
        }
        out
    }
}

fn any_section() -> impl Strategy<Value = Section> {
    let color = prop_oneof![
        Just("red".to_string()),
        Just("#00ff00".to_string()),
        Just("{% if status %}green{% endif %}".to_string()),
        any_template(),
    ];
    let url = prop_oneof![
        Just("https://e.example/{{ status }}".to_string()),
        Just("https://e.example/{{ 'x' * 3000 }}".to_string()),
        any_template(),
    ];
    (
        prop::option::of(any_template()),
        prop::option::of(any_template()),
        prop::option::of(color),
        prop::option::of(url),
        prop::option::of(any_template()),
        prop::option::of(prop::collection::vec(
            (any_template(), any_template(), any::<bool>()),
            0..30,
        )),
    )
        .prop_map(|(title, description, color, url, footer, fields)| Section {
            parts: [
                ("title", title),
                ("description", description),
                ("color", color),
                ("url", url),
                ("footer", footer),
            ]
            .into_iter()
            .filter_map(|(key, value)| value.map(|value| (key, value)))
            .collect(),
            fields,
        })
}

/// `[templates.TYPE]` tables (some with an `.en` variant) for types the events use.
fn any_templates() -> impl Strategy<Value = String> {
    let event_type = prop_oneof![
        Just("backup_error"),
        Just("backup_success"),
        Just("minecraft_status"),
        Just("codespace_status"),
        Just("message"),
        Just("a"),
    ];
    prop::collection::btree_map(
        event_type,
        (any_section(), prop::option::of(any_section())),
        0..4,
    )
    .prop_map(|types| {
        let mut out = String::new();
        for (event_type, (all, english)) in types {
            out.push_str(&all.toml(&format!("templates.{event_type}")));
            if let Some(english) = english {
                out.push_str(&english.toml(&format!("templates.{event_type}.en")));
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_payload_makes_a_message_discord_would_reject(
        events in prop::collection::vec(any_event(), 1..15),
        english in any::<bool>(),
        templates in any_templates(),
    ) {
        let compiled = Templates::from_config(std::path::Path::new("t.toml"), &templates);
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(error) => {
                prop_assert!(false, "{}\n{}", error, templates);
                None
            }
        };
        let options = RenderOptions {
            lang: if english { Lang::En } else { Lang::Es },
            mention: true,
            templates: compiled.map(std::sync::Arc::new),
        };
        let mut delivered = 0;
        for group in plan(events.clone(), false, &options) {
            prop_assert!(!group.is_empty() && group.len() <= 10);
            delivered += group.len();
            let body = render(&group, &options);
            prop_assert_eq!(body["embeds"].as_array().unwrap().len(), group.len());
            if let Err(why) = support::discord::check_limits(&body) {
                prop_assert!(false, "{}: {}", why, body);
            }
        }
        prop_assert_eq!(delivered, events.len(), "every event is in a message");
    }
}
