//! What rendering costs per event: the built-in layouts, the publisher's presentation, and a
//! config file's templates (the README's example and a heavier one), each timed over many
//! events in one process. Run by `bench/render.sh`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dq::event::{Event, Presentation};
use dq::render::{plan, render, RenderOptions, Templates};
use serde_json::json;

const TEMPLATES: &str = r#"
[templates.disk_full]
title = "💾 {{ mount }} está al {{ used }}%"
color = "{% if used >= 95 %}red{% else %}orange{% endif %}"
url = "https://grafana.example/d/disk?var-mount={{ mount }}"
footer = "{{ codespace_name | default('sin codespace') }}"
fields = [
  { name = "Libre", value = "{{ free_mb | filesize }}", inline = true },
  { name = "Nota", value = "{{ note }}" },
]

[templates.report]
description = "{% for key, value in payload | items %}**{{ key }}**: {{ value }}\n{% endfor %}"
fields = [
  { name = "Size", value = "{{ size_mb | filesize }}", inline = true },
  { name = "Took", value = "{{ duration_seconds | duration }}", inline = true },
]
"#;

fn event(
    id: i64,
    event_type: &str,
    payload: serde_json::Value,
    presentation: Presentation,
) -> Event {
    Event {
        id,
        user_id: "42".into(),
        event_type: event_type.into(),
        payload: payload.as_object().cloned().unwrap(),
        created_at: "2026-11-27T17:59:01.259152Z".into(),
        attempts: 0,
        last_attempt: None,
        error_message: None,
        presentation,
    }
}

/// Microseconds per event to plan and render `events` as consume does.
fn per_event(events: &[Event], options: &RenderOptions) -> f64 {
    let started = Instant::now();
    let mut bytes = 0;
    for group in plan(events.to_vec(), false, options) {
        bytes += render(&group, options).to_string().len();
    }
    assert!(bytes > 0);
    started.elapsed().as_secs_f64() * 1e6 / events.len() as f64
}

fn main() {
    let count: i64 = std::env::args()
        .nth(1)
        .map_or(20_000, |n| n.parse().unwrap());
    let templates = Templates::from_config(Path::new("bench.toml"), TEMPLATES)
        .unwrap()
        .unwrap();
    let with_templates = RenderOptions {
        templates: Some(Arc::new(templates)),
        ..RenderOptions::default()
    };
    let plain = RenderOptions::default();
    let disk = json!({"mount": "/data", "used": 97, "free_mb": 1536, "codespace_name": "cs-1",
                      "timestamp": "2026-11-27T17:59:01Z"});
    let report = json!({"size_mb": 512.5, "duration_seconds": 3723, "a": 1, "b": "two",
                        "c": [3], "codespace_name": "cs-1"});
    let flags = Presentation {
        title: Some("Disk almost full".into()),
        level: Some("warning".into()),
        url: Some("https://grafana.example/d/1".into()),
        ..Presentation::default()
    };
    let backup = json!({"error_type": "backup_upload", "error_message": "timeout",
                        "backup_file": "w.tgz", "codespace_name": "cs-1"});
    let cases: [(&str, Vec<Event>, &RenderOptions); 5] = [
        (
            "built-in layout (backup_error)",
            (0..count)
                .map(|id| event(id, "backup_error", backup.clone(), Presentation::default()))
                .collect(),
            &plain,
        ),
        (
            "generic embed (disk_full)",
            (0..count)
                .map(|id| event(id, "disk_full", disk.clone(), Presentation::default()))
                .collect(),
            &plain,
        ),
        (
            "generic + --title --level --url",
            (0..count)
                .map(|id| event(id, "disk_full", disk.clone(), flags.clone()))
                .collect(),
            &plain,
        ),
        (
            "template: the README's disk_full",
            (0..count)
                .map(|id| event(id, "disk_full", disk.clone(), Presentation::default()))
                .collect(),
            &with_templates,
        ),
        (
            "template: loop over the payload",
            (0..count)
                .map(|id| event(id, "report", report.clone(), Presentation::default()))
                .collect(),
            &with_templates,
        ),
    ];
    println!("{count} events each, planned and rendered as dq consume does:");
    for (name, events, options) in cases {
        // One warm-up pass, then the measured one.
        per_event(&events[..events.len().min(1000)], options);
        println!("  {name:<34} {:>7.1} µs/event", per_event(&events, options));
    }
}
